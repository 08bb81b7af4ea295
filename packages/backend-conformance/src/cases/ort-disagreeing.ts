// Quantization parameters where ONNX Runtime's two builds map codes differently through sigmoid and
// tanh: MLAS's rational approximations fuse their multiply-adds on x64 (onnxruntime-node on AVX2 +
// FMA machines) and do not in the wasm build (onnxruntime-web), and at these scales a few of the 256
// table entries round the other way. Random qparams almost never hit such a set (0 in 2,000 for
// sigmoid), so they were found by search; kernels-js's tests check each against both runtimes.

/** Per-tensor quantization parameters of one side of an op. */
export interface OrtQparams {
  readonly scale: number;
  readonly zeroPoint: number;
}

const f32 = Math.fround;

/**
 * (input, output) qparams where QLinearSigmoid's table differs between onnxruntime-node (x64) and
 * onnxruntime-web; the first two use sigmoid's fixed output qparams (1/256, 0).
 */
export const ORT_SIGMOID_DISAGREEING: readonly (readonly [OrtQparams, OrtQparams])[] = [
  [
    { scale: f32(0.12964965403079987), zeroPoint: 46 },
    { scale: 1 / 256, zeroPoint: 0 },
  ],
  [
    { scale: f32(0.07235713303089142), zeroPoint: 97 },
    { scale: 1 / 256, zeroPoint: 0 },
  ],
  [
    { scale: f32(0.0932692438364029), zeroPoint: 177 },
    { scale: f32(0.00014774224837310612), zeroPoint: 210 },
  ],
  [
    { scale: f32(0.05486438795924187), zeroPoint: 192 },
    { scale: f32(0.00027611665427684784), zeroPoint: 63 },
  ],
];

/**
 * Input qparams where QDQ Tanh (DQ → MLAS tanh → Q, output (1/128, 128), tanh's default) differs
 * between onnxruntime-node (x64) and onnxruntime-web.
 */
export const ORT_TANH_DISAGREEING: readonly OrtQparams[] = [
  { scale: f32(0.018335137516260147), zeroPoint: 155 },
  { scale: f32(0.026814641430974007), zeroPoint: 203 },
  { scale: f32(0.00801813043653965), zeroPoint: 197 },
  { scale: f32(0.030796054750680923), zeroPoint: 10 },
  { scale: f32(0.16411495208740234), zeroPoint: 29 },
  { scale: f32(0.16411566734313965), zeroPoint: 170 },
];
