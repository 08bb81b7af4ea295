// torch/fx/graph.py `_Namespace` and `_snake_case` (PyTorch 1.13): node names are Python identifiers
// that shadow no Python keyword or builtin, so `max` becomes `max_1` and `input` becomes `input_1`,
// exactly as torch.fx names them.

// keyword.kwlist and dir(builtins) of Python 3.11, plus torch.fx's `_custom_builtins`.
const ILLEGAL = new Set(
  (
    'False None True and as assert async await break class continue def del elif else except finally for ' +
    'from global if import in is lambda nonlocal not or pass raise return try while with yield ' +
    'ArithmeticError AssertionError AttributeError BaseException BaseExceptionGroup BlockingIOError ' +
    'BrokenPipeError BufferError BytesWarning ChildProcessError ConnectionAbortedError ConnectionError ' +
    'ConnectionRefusedError ConnectionResetError DeprecationWarning EOFError Ellipsis EncodingWarning ' +
    'EnvironmentError Exception ExceptionGroup FileExistsError FileNotFoundError FloatingPointError ' +
    'FutureWarning GeneratorExit IOError ImportError ImportWarning IndentationError IndexError ' +
    'InterruptedError IsADirectoryError KeyError KeyboardInterrupt LookupError MemoryError ' +
    'ModuleNotFoundError NameError NotADirectoryError NotImplemented NotImplementedError OSError ' +
    'OverflowError PendingDeprecationWarning PermissionError ProcessLookupError RecursionError ' +
    'ReferenceError ResourceWarning RuntimeError RuntimeWarning StopAsyncIteration StopIteration ' +
    'SyntaxError SyntaxWarning SystemError SystemExit TabError TimeoutError TypeError UnboundLocalError ' +
    'UnicodeDecodeError UnicodeEncodeError UnicodeError UnicodeTranslateError UnicodeWarning UserWarning ' +
    'ValueError Warning ZeroDivisionError __build_class__ __debug__ __doc__ __import__ __loader__ __name__ ' +
    '__package__ __spec__ abs aiter all anext any ascii bin bool breakpoint bytearray bytes callable chr ' +
    'classmethod compile complex copyright credits delattr dict dir divmod enumerate eval exec exit filter ' +
    'float format frozenset getattr globals hasattr hash help hex id input int isinstance issubclass iter ' +
    'len license list locals map max memoryview min next object oct open ord pow print property quit range ' +
    'repr reversed round set setattr slice sorted staticmethod str sum super tuple type vars zip ' +
    'NoneType device fx_pytree inf nan pytree torch'
  ).split(' '),
);

const isUpper = (c: string): boolean => c !== c.toLowerCase() && c === c.toUpperCase();
const isLower = (c: string): boolean => c !== c.toUpperCase() && c === c.toLowerCase();

/** `maxPool2d` → `max_pool2d`, `ALL_CAPS` → `all_caps` (torch.fx `_snake_case`). */
export function snakeCase(s: string): string {
  let out = '';
  let prevLower = false;
  for (const c of s) {
    if (prevLower && isUpper(c)) out += '_';
    out += c.toLowerCase();
    prevLower = isLower(c);
  }
  return out;
}

/** Hands out unique names (torch.fx `_Namespace.create_name`). */
export class Namespace {
  private readonly used = new Set<string>();

  createName(candidate: string): string {
    let c = candidate.replace(/[^0-9a-zA-Z_]+/g, '_');
    if (c === '') c = '_';
    if (/^[0-9]/.test(c)) c = `_${c}`;
    const m = /^(.*)_(\d+)$/s.exec(c);
    const base = m === null ? c : m[1]!;
    let num = m === null ? 0 : Number(m[2]);
    let name = m === null ? base : `${base}_${num}`;
    while (this.used.has(name) || ILLEGAL.has(name)) {
      num += 1;
      name = `${base}_${num}`;
    }
    this.used.add(name);
    return name;
  }
}
