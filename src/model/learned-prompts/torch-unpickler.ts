import { UserError } from '../../util/errors.js';

/**
 * A restricted unpickler for the `data.pkl` of a `torch.save` zip. It builds plain data and never calls
 * anything: every global the stream names must be on the allowlist below, and each allowed global is
 * interpreted here (an OrderedDict becomes a Map, `_rebuild_tensor_v2` a TensorRef, an optimizer a
 * PyObject record); any other global is refused the moment the stream names it.
 *
 * Why not the npm `pickleparser` (0.2.1, published once, Dec 2024, not updated since): a generic parser
 * whose name resolver could carry the allowlist, but it knows nothing of torch (persistent ids, storages,
 * tensors: the part that matters), by default turns dicts into plain JS objects and applies BUILD state
 * with Object.assign (a `__proto__` key pollutes), constructs whatever its resolver returns with
 * Reflect.construct, and fails with bare Errors without the byte offset. The opcodes torch writes
 * (protocol 2, plus the protocol-4 ones `pickle_protocol=4` adds) are a short list; here each one and each
 * allowed global is explicit.
 */

export type StoredDtype =
  | 'float64'
  | 'float32'
  | 'float16'
  | 'bfloat16'
  | 'int64'
  | 'int32'
  | 'int16'
  | 'int8'
  | 'uint8'
  | 'bool';

/** One `data/<key>` entry of the archive, as a persistent id names it. */
export class StorageRef {
  constructor(
    readonly key: string,
    readonly dtype: StoredDtype,
    /** Elements the storage holds (its entry must have numel × itemsize bytes). */
    readonly numel: number,
  ) {}
}

/** A tensor as `_rebuild_tensor_v2` describes it: a strided view of a storage (read lazily). */
export class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
  ) {}
}

/** An instance of an allowlisted class (an optimizer or LR scheduler): its class name and pickled state. */
export class PyObject {
  state: PyValue = null;
  constructor(readonly className: string) {}
}

/** An allowlisted global as a value (e.g. `dict`, passed to `defaultdict` as its factory). */
class PyGlobal {
  constructor(
    readonly name: string,
    readonly spec: GlobalSpec,
  ) {}
}

export type PyDict = Map<PyValue, PyValue>;
/** Tuples and lists are both arrays. */
export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PyValue[]
  | PyDict
  | PyObject
  | TensorRef
  | StorageRef
  | PyGlobal;

type GlobalSpec =
  /** REDUCE / NEWOBJ build a value from the arguments. */
  | { kind: 'build'; build: (args: PyValue[], fail: Fail) => PyValue }
  /** A storage class: only meaningful inside a persistent id. */
  | { kind: 'storage'; dtype: StoredDtype }
  /** A class whose instances are kept as inert PyObject records (optimizer and scheduler state). */
  | { kind: 'record' };

type Fail = (why: string) => UserError;

const STORAGES: Record<string, StoredDtype> = {
  DoubleStorage: 'float64',
  FloatStorage: 'float32',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};

/**
 * Dassl saves `optimizer.state_dict()` (plain dicts) but also `scheduler.state_dict()`, and its warmup
 * schedulers keep the wrapped scheduler in `successor`, pickled as an object together with its optimizer
 * (whose `state` is a defaultdict keyed by Parameters). These classes become PyObject records: nothing of
 * them is run, and falip reads none of their fields.
 */
const RECORD_CLASSES = [
  ...['SGD', 'Adam', 'AdamW', 'RMSprop'].map((c) => `torch.optim.${c.toLowerCase()}.${c}`),
  ...['CosineAnnealingLR', 'StepLR', 'MultiStepLR', 'ExponentialLR'].map((c) => `torch.optim.lr_scheduler.${c}`),
  'dassl.optim.lr_scheduler.ConstantWarmupScheduler',
  'dassl.optim.lr_scheduler.LinearWarmupScheduler',
  'dassl.optim.radam.RAdam',
];

const ALLOWED = new Map<string, GlobalSpec>([
  ['collections.OrderedDict', { kind: 'build', build: () => new Map() }],
  // The factory is dropped: a reader never inserts missing keys.
  ['collections.defaultdict', { kind: 'build', build: () => new Map() }],
  ['builtins.dict', { kind: 'build', build: () => new Map() }],
  ['torch._utils._rebuild_tensor_v2', { kind: 'build', build: rebuildTensor }],
  // A Parameter is its tensor; requires_grad and hooks do not matter to a reader.
  [
    'torch._utils._rebuild_parameter',
    { kind: 'build', build: (args, fail) => asTensor(args[0], fail, '_rebuild_parameter') },
  ],
  ...Object.entries(STORAGES).map(([name, dtype]): [string, GlobalSpec] => [
    `torch.${name}`,
    { kind: 'storage', dtype },
  ]),
  ...RECORD_CLASSES.map((name): [string, GlobalSpec] => [name, { kind: 'record' }]),
]);

/** Protocol 2 writes Python 3 names under their Python 2 modules; the unpickler maps them back. */
const PY2_MODULES: Record<string, string> = { __builtin__: 'builtins', copy_reg: 'copyreg' };

const REFUSAL_HINT = 'falip reads only tensors, dicts, lists, numbers, strings and optimizer/scheduler state';

function rebuildTensor(args: PyValue[], fail: Fail): TensorRef {
  // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  const [storage, offset, size, stride] = args;
  if (args.length < 6 || !(storage instanceof StorageRef)) throw fail('_rebuild_tensor_v2 without a storage');
  const ints = (x: PyValue, what: string): number[] => {
    if (!Array.isArray(x) || !x.every((n) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0)) {
      throw fail(`_rebuild_tensor_v2 ${what} is not a tuple of non-negative integers`);
    }
    return x as number[];
  };
  const shape = ints(size!, 'size');
  const strides = ints(stride!, 'stride');
  if (strides.length !== shape.length)
    throw fail(`_rebuild_tensor_v2 has ${shape.length} sizes but ${strides.length} strides`);
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0)
    throw fail('_rebuild_tensor_v2 storage offset is not a non-negative integer');
  return new TensorRef(storage as StorageRef, offset, shape, strides);
}

function asTensor(x: PyValue | undefined, fail: Fail, what: string): TensorRef {
  if (!(x instanceof TensorRef)) throw fail(`${what} of something that is not a tensor`);
  return x;
}

/** `('storage', torch.<Type>Storage, key, location, numel)` → the storage it names. */
function persistentStorage(pid: PyValue, fail: Fail): StorageRef {
  if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length !== 5)
    throw fail('a persistent id is not a torch storage');
  const [, type, key, , numel] = pid;
  if (!(type instanceof PyGlobal) || type.spec.kind !== 'storage') throw fail('a persistent id names no storage type');
  if (typeof key !== 'string' || typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) {
    throw fail('a persistent id has a malformed key or size');
  }
  return new StorageRef(key, type.spec.dtype, numel);
}

const MARK = Symbol('mark');
type StackItem = PyValue | typeof MARK;

/**
 * Unpickles `bytes` (the `data.pkl` of `file`, named in errors), allowing only the globals above;
 * storages come back as StorageRefs, tensors as TensorRefs.
 */
export function unpickleTorch(bytes: Uint8Array, file: string): PyValue {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  let opStart = 0;
  const stack: StackItem[] = [];
  const memo = new Map<number, PyValue>();
  const fail: Fail = (why) => new UserError(`${file}: data.pkl byte ${opStart}: ${why}`);

  const need = (n: number): number => {
    if (pos + n > buf.length) throw fail('the pickle ends inside an opcode (truncated data.pkl)');
    const at = pos;
    pos += n;
    return at;
  };
  const u8 = (): number => buf[need(1)]!;
  const u16 = (): number => buf.readUInt16LE(need(2));
  const u32 = (): number => buf.readUInt32LE(need(4));
  const u64 = (): number => {
    const n = buf.readBigUInt64LE(need(8));
    if (n > BigInt(buf.length)) throw fail('a length runs past the end of data.pkl');
    return Number(n);
  };
  const text = (n: number): string => buf.toString('utf8', need(n), pos);
  const line = (): string => {
    const end = buf.indexOf(0x0a, pos);
    if (end < 0) throw fail('the pickle ends inside a GLOBAL name');
    const s = buf.toString('utf8', pos, end);
    pos = end + 1;
    return s;
  };
  const pop = (): PyValue => {
    const x = stack.pop();
    if (x === undefined || x === MARK) throw fail('stack underflow (malformed pickle)');
    return x;
  };
  const top = (): PyValue => {
    const x = stack[stack.length - 1];
    if (x === undefined || x === MARK) throw fail('stack underflow (malformed pickle)');
    return x;
  };
  /** Pops everything down to the topmost MARK (and the mark). */
  const popMark = (): PyValue[] => {
    const at = stack.lastIndexOf(MARK);
    if (at < 0) throw fail('no MARK on the stack (malformed pickle)');
    const items = stack.splice(at) as PyValue[];
    items.shift();
    return items;
  };
  const dict = (x: PyValue): PyDict => {
    if (!(x instanceof Map)) throw fail('SETITEM on something that is not a dict');
    return x;
  };
  const list = (x: PyValue): PyValue[] => {
    if (!Array.isArray(x)) throw fail('APPEND on something that is not a list');
    return x;
  };
  const global = (module: string, name: string): PyGlobal => {
    const full = `${PY2_MODULES[module] ?? module}.${name}`;
    const spec = ALLOWED.get(full);
    if (!spec) throw new UserError(`${file}: refuses to load global ${full} (${REFUSAL_HINT})`);
    return new PyGlobal(full, spec);
  };
  const construct = (callee: PyValue, args: PyValue, how: string): PyValue => {
    if (!(callee instanceof PyGlobal) || !Array.isArray(args))
      throw fail(`${how} of something that is not an allowed global`);
    if (callee.spec.kind === 'storage') throw fail(`${how} of storage class ${callee.name} outside a persistent id`);
    return callee.spec.kind === 'record' ? new PyObject(callee.name) : callee.spec.build(args, fail);
  };
  const memoize = (index: number): void => void memo.set(index, top());
  const recall = (index: number): void => {
    if (!memo.has(index)) throw fail(`memo entry ${index} was never stored (malformed pickle)`);
    stack.push(memo.get(index)!);
  };

  for (;;) {
    opStart = pos;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) throw fail('pickle protocol newer than 5');
        break;
      case 0x95: // FRAME: a length prefix for buffering; the opcodes simply follow
        need(8);
        break;
      case 0x2e: // STOP
        if (stack.length !== 1) throw fail('STOP with a stack that does not hold exactly one value');
        return pop();
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x74: // TUPLE
        stack.push(popMark());
        break;
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push([pop(), b]);
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push([pop(), b, c]);
        break;
      }
      case 0x73: {
        // SETITEM
        const value = pop();
        const key = pop();
        dict(top()).set(key, value);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        if (items.length % 2 !== 0) throw fail('SETITEMS with an odd number of items');
        const d = dict(top());
        for (let i = 0; i < items.length; i += 2) d.set(items[i]!, items[i + 1]!);
        break;
      }
      case 0x61: {
        // APPEND
        const value = pop();
        list(top()).push(value);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        list(top()).push(...items);
        break;
      }
      case 0x71: // BINPUT
        memoize(u8());
        break;
      case 0x72: // LONG_BINPUT
        memoize(u32());
        break;
      case 0x94: // MEMOIZE
        memoize(memo.size);
        break;
      case 0x68: // BINGET
        recall(u8());
        break;
      case 0x6a: // LONG_BINGET
        recall(u32());
        break;
      case 0x4a: // BININT
        stack.push(buf.readInt32LE(need(4)));
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: {
        // LONG1: little-endian two's complement of n bytes
        const n = u8();
        stack.push(decodeLong(buf.subarray(need(n), pos)));
        break;
      }
      case 0x47: // BINFLOAT (big-endian)
        stack.push(buf.readDoubleBE(need(8)));
        break;
      case 0x58: // BINUNICODE
        stack.push(text(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text(u8()));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(text(u64()));
        break;
      case 0x42: // BINBYTES
        stack.push(Uint8Array.from(buf.subarray(need(u32()), pos)));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(Uint8Array.from(buf.subarray(need(u8()), pos)));
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = line();
        stack.push(global(module, line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw fail('STACK_GLOBAL without two strings');
        stack.push(global(module, name));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        stack.push(construct(pop(), args, 'REDUCE'));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = pop();
        stack.push(construct(pop(), args, 'NEWOBJ'));
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop();
        const target = top();
        if (target instanceof PyObject) target.state = state;
        // A state_dict() saved as is carries `_metadata` (module versions) as OrderedDict attributes.
        else if (!(target instanceof Map && state instanceof Map)) throw fail('BUILD on a value that takes no state');
        break;
      }
      case 0x51: // BINPERSID
        stack.push(persistentStorage(pop(), fail));
        break;
      default:
        throw fail(`pickle opcode 0x${op.toString(16).padStart(2, '0')}, which torch.save does not write`);
    }
  }
}

/** Python's LONG1 payload: little-endian two's complement; a number when it is a safe integer. */
function decodeLong(bytes: Buffer): number | bigint {
  if (bytes.length === 0) return 0;
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  if (bytes[bytes.length - 1]! & 0x80) n -= 1n << BigInt(bytes.length * 8);
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}
