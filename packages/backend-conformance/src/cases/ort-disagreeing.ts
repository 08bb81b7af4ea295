// Quantization parameters where ONNX Runtime's two builds map codes differently: MLAS fuses
// multiply-adds on x64 (onnxruntime-node on AVX2 + FMA machines) and does not in the wasm build
// (onnxruntime-web), and its add and mul kernels use different formulas on the two, so at these
// scales a few codes round the other way. Random qparams rarely hit such a set (sigmoid: 0 in
// 2,000; mul: about 1 in 100), so they were found by search; kernels-js's tests check them against
// both runtimes.

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

/** The qparams of a binary op: inputs a and b, output c. */
export interface OrtBinaryQparams {
  readonly a: OrtQparams;
  readonly b: OrtQparams;
  readonly c: OrtQparams;
}

/**
 * Qparams where QLinearAdd differs between onnxruntime-node (x64) and onnxruntime-web on some code
 * pairs (62 and 591 of the 65,536).
 */
export const ORT_ADD_DISAGREEING: readonly OrtBinaryQparams[] = [
  {
    a: { scale: f32(0.05), zeroPoint: 128 },
    b: { scale: f32(0.025), zeroPoint: 120 },
    c: { scale: f32(0.1), zeroPoint: 130 },
  },
  {
    a: { scale: f32(0.043), zeroPoint: 60 },
    b: { scale: f32(0.043), zeroPoint: 200 },
    c: { scale: f32(0.086), zeroPoint: 128 },
  },
];

/**
 * Qparams where QLinearMul differs between onnxruntime-node (x64) and onnxruntime-web on one or two
 * code pairs of the 65,536.
 */
export const ORT_MUL_DISAGREEING: readonly OrtBinaryQparams[] = [
  {
    a: { scale: f32(0.04295160248875618), zeroPoint: 195 },
    b: { scale: f32(0.020122848451137543), zeroPoint: 97 },
    c: { scale: f32(0.15831677615642548), zeroPoint: 198 },
  },
  {
    a: { scale: f32(0.03005692921578884), zeroPoint: 212 },
    b: { scale: f32(0.13216625154018402), zeroPoint: 251 },
    c: { scale: f32(0.9939824342727661), zeroPoint: 89 },
  },
  {
    a: { scale: f32(0.025491854175925255), zeroPoint: 5 },
    b: { scale: f32(0.03563447669148445), zeroPoint: 113 },
    c: { scale: f32(0.113885797560215), zeroPoint: 47 },
  },
];
