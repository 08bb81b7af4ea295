// The wasm module's exports: every kernel, named `<dtype>_<op>_<activation>_<requant>__<isa>`
// (spec/aesthetics-anchors.md §3.5). Memory is imported and managed from JS (src/abi.ts); the
// module has no data segments and no globals the kernels write, so one shared memory can serve
// several instances (one per worker thread).
export {
  qs16_gemm_4x8__wasmsimd,
  qs16_gemv_1x16__wasmsimd,
  qs8_gemv_1x16__wasmsimd,
  q8_widen_rows__wasmsimd,
  q8_pack_a4__wasmsimd,
} from './gemm';
export {
  qs16_im2col_pack__wasmsimd,
  qs8_conv2d_acc__wasmsimd,
  q8_widen_pad__wasmsimd,
  qs16_conv2d_acc__wasmsimd,
  qs8_conv1x1_acc__wasmsimd,
  qs8_dwconv2d_acc__wasmsimd,
} from './conv';
export { q8_requant_minmax_fp32__wasmsimd, q8_requant_minmax_fbias__wasmsimd } from './requant';
export {
  q8_quantize_fp32__wasmsimd,
  q8_quantize_div__wasmsimd,
  q8_clamp__wasmsimd,
  q8_lut__wasmsimd,
  q8_lut2__wasmsimd,
  q8_nchw_to_nhwc__wasmsimd,
  q8_nhwc_to_nchw__wasmsimd,
  q8_add_qnnpack__wasmsimd,
  q8_add_generic__wasmsimd,
  q8_maxpool2d__wasmsimd,
  q8_avgpool2d__wasmsimd,
  q8_adaptive_avgpool2d__wasmsimd,
  q8_mean_rows__wasmsimd,
  q8_mul_minmax_fp32__wasmsimd,
  q8_cat__wasmsimd,
} from './nongemm';
