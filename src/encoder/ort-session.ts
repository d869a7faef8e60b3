import * as ort from 'onnxruntime-node';
import { UserError } from '../util/errors.js';
import type { Device } from './execution-provider.js';

export interface SessionOptions {
  device: Device;
  /** ORT's device id of the GPU (CUDA), default 0. */
  deviceId?: number;
  /** Intra-op threads on CPU; undefined lets ORT use every core. */
  threads?: number;
  /** Where ORT writes the graph after its optimizations (to check that fusions kept the bias Add). */
  optimizedModelFilePath?: string;
}

/** What each GPU provider needs from the machine, added to the error when it does not start. */
const PROVIDER_HINTS: Record<Exclude<Device, 'cpu'>, string> = {
  cuda: '; it needs an NVIDIA GPU with CUDA 12 and cuDNN 9 libraries on the library path',
  webgpu: '; it needs a GPU with Vulkan drivers (Debian: libvulkan1 and mesa-vulkan-drivers or the vendor driver)',
};

export async function createSession(modelPath: string, opts: SessionOptions): Promise<ort.InferenceSession> {
  const gpu: ort.InferenceSession.ExecutionProviderConfig =
    opts.device === 'cuda' && opts.deviceId !== undefined ? { name: 'cuda', deviceId: opts.deviceId } : opts.device;
  const providers: ort.InferenceSession.ExecutionProviderConfig[] = opts.device === 'cpu' ? ['cpu'] : [gpu, 'cpu'];
  try {
    return await ort.InferenceSession.create(modelPath, {
      executionProviders: providers,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      // The binding rejects explicit undefined values, so optional settings are only spread in when set.
      ...(opts.threads !== undefined && { intraOpNumThreads: opts.threads }),
      ...(opts.optimizedModelFilePath !== undefined && { optimizedModelFilePath: opts.optimizedModelFilePath }),
    });
  } catch (e) {
    if (opts.device !== 'cpu') {
      const reason = (e as Error).message.split('\n')[0]!.replace(/^.*?(Failed to get a WebGPU adapter)/, '$1');
      throw new UserError(
        `--device ${opts.device}: cannot start the ${opts.device} execution provider (${reason})${PROVIDER_HINTS[opts.device]}`,
      );
    }
    throw e;
  }
}

export function floatTensor(data: Float32Array, dims: number[]): ort.Tensor {
  return new ort.Tensor('float32', data, dims);
}

export function int64Tensor(data: BigInt64Array, dims: number[]): ort.Tensor {
  return new ort.Tensor('int64', data, dims);
}
