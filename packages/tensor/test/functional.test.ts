import { describe, expect, test } from 'vitest';
import {
  NOT_INTERCEPTED,
  Generator,
  add,
  adaptiveAvgPool2d,
  avgPool2d,
  cat,
  conv2d,
  dropout,
  hardtanh,
  isQuantError,
  linear,
  matmul,
  maxPool2d,
  mean,
  mul,
  popOpInterceptor,
  pushOpInterceptor,
  randn,
  relu,
  softmax,
  tensor,
  zeros,
} from '../src/index.js';
import type { OpInterceptor, TracedOp } from '../src/index.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isQuantError(e)) return e.code;
    throw e;
  }
  return 'no error';
}

describe('dispatch', () => {
  test('ops carry their names and go through an installed interceptor', () => {
    const seen: string[] = [];
    const tracer: OpInterceptor = {
      callOp(op: TracedOp, args) {
        seen.push(`${op.opName}/${args.length}`);
        return op.opName === 'relu' ? 'traced' : NOT_INTERCEPTED;
      },
      callModule: () => NOT_INTERCEPTED,
    };
    pushOpInterceptor(tracer);
    try {
      expect(relu(tensor([-1]))).toBe('traced');
      expect(add(tensor([1]), 2).toArray()).toEqual([3]);
    } finally {
      popOpInterceptor();
    }
    expect(seen).toEqual(['relu/1', 'add/2']);
    expect([conv2d.opName, maxPool2d.opName, adaptiveAvgPool2d.opName, linear.opName]).toEqual([
      'conv2d',
      'maxPool2d',
      'adaptiveAvgPool2d',
      'linear',
    ]);
    expect(relu(tensor([-1, 2])).toArray()).toEqual([0, 2]);
  });
});

describe('shapes and options', () => {
  test("conv2d padding 'same' (odd and even kernels) and 'valid'", () => {
    const x = randn([1, 2, 5, 6], new Generator(3));
    expect(conv2d(x, randn([3, 2, 3, 3]), null, { padding: 'same' }).shape).toEqual([1, 3, 5, 6]);
    expect(conv2d(x, randn([3, 2, 2, 4]), null, { padding: 'same' }).shape).toEqual([1, 3, 5, 6]);
    expect(conv2d(x, randn([3, 2, 3, 3]), null, { padding: 'valid' }).shape).toEqual([1, 3, 3, 4]);
  });
  test("conv2d padding 'same' equals explicit padding when the kernel is odd", () => {
    const x = randn([2, 4, 6, 6], new Generator(4));
    const w = randn([4, 4, 3, 3], new Generator(5));
    expect(conv2d(x, w, null, { padding: 'same' }).toArray()).toEqual(conv2d(x, w, null, { padding: 1 }).toArray());
  });
  test('broadcasting, scalars, cat, matmul shapes', () => {
    expect(mul(zeros([2, 1, 4]), zeros([3, 1])).shape).toEqual([2, 3, 4]);
    expect(add(tensor([1, 2]), 0.1).toArray()).toEqual([
      Math.fround(1 + Math.fround(0.1)),
      Math.fround(2 + Math.fround(0.1)),
    ]);
    expect(cat([zeros([1, 2]), zeros([1, 3])], -1).shape).toEqual([1, 5]);
    expect(matmul(zeros([3]), zeros([3])).shape).toEqual([]);
    expect(matmul(zeros([5, 1, 2, 3]), zeros([4, 3, 6])).shape).toEqual([5, 4, 2, 6]);
  });
  test('mean of all dims gives a 0-d tensor; keepdim keeps ones', () => {
    expect(mean(zeros([2, 3])).shape).toEqual([]);
    expect(mean(zeros([2, 3, 4]), [0, 2], true).shape).toEqual([1, 3, 1]);
  });
  test('softmax rows sum to about 1; dropout is the identity', () => {
    const y = softmax(randn([3, 20], new Generator(1)), 1).toArray();
    expect(y.slice(0, 20).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    const x = zeros([2]);
    expect(dropout(x)).toBe(x);
  });
  test('pooling output sizes with ceil mode', () => {
    expect(maxPool2d(zeros([1, 1, 5, 5]), { kernelSize: 2, ceilMode: true }).shape).toEqual([1, 1, 3, 3]);
    expect(avgPool2d(zeros([1, 1, 5, 5]), { kernelSize: 2 }).shape).toEqual([1, 1, 2, 2]);
    expect(adaptiveAvgPool2d(zeros([1, 1, 5, 7]), [2, null]).shape).toEqual([1, 1, 2, 7]);
  });
});

describe('bad input', () => {
  test('typed errors with the value and the fix', () => {
    expect(codeOf(() => conv2d(zeros([1, 3, 4, 4]), zeros([2, 2, 3, 3])))).toBe('SHAPE_MISMATCH');
    expect(codeOf(() => conv2d(zeros([3, 4, 4]), zeros([2, 3, 3, 3])))).toBe('SHAPE_MISMATCH');
    expect(codeOf(() => conv2d(zeros([1, 4, 4, 4]), zeros([2, 2, 3, 3]), null, { groups: 3 }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(codeOf(() => conv2d(zeros([1, 1, 2, 2]), zeros([1, 1, 3, 3])))).toBe('SHAPE_MISMATCH');
    expect(codeOf(() => conv2d(zeros([1, 1, 4, 4]), zeros([1, 1, 2, 2]), null, { stride: 2, padding: 'same' }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(codeOf(() => linear(zeros([2, 3]), zeros([4, 5])))).toBe('SHAPE_MISMATCH');
    expect(codeOf(() => add(zeros([2, 3]), zeros([4])))).toBe('SHAPE_MISMATCH');
    expect(codeOf(() => matmul(zeros([2, 3]), zeros([4, 5])))).toBe('SHAPE_MISMATCH');
    expect(codeOf(() => cat([], 0))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => cat([zeros([1, 2]), zeros([2, 3])], 0))).toBe('SHAPE_MISMATCH');
    expect(codeOf(() => softmax(zeros([2, 2]), 2))).toBe('AXIS_OUT_OF_RANGE');
    expect(codeOf(() => mean(zeros([2, 2]), [-3]))).toBe('AXIS_OUT_OF_RANGE');
    expect(codeOf(() => maxPool2d(zeros([1, 1, 4, 4]), { kernelSize: 2, padding: 2 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => avgPool2d(zeros([1, 1, 2, 2]), { kernelSize: 3 }))).toBe('SHAPE_MISMATCH');
    expect(codeOf(() => hardtanh(zeros([1]), 1, -1))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => dropout(zeros([1]), 0.5, true))).toBe('UNSUPPORTED_OP');
    expect(() => linear(zeros([2, 3]), zeros([4, 5]))).toThrow(/input \[2, 3\] has last dim 3, weight expects 5/);
  });
});
