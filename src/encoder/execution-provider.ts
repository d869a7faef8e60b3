import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { UserError } from '../util/errors.js';

export type DeviceChoice = 'auto' | 'cpu' | 'cuda' | 'webgpu';
export type Device = Exclude<DeviceChoice, 'auto'>;
export const DEVICE_CHOICES: readonly DeviceChoice[] = ['auto', 'cpu', 'cuda', 'webgpu'];

// The project's .npmrc keeps every dependency install script from running (onnxruntime-node's would download
// the CUDA binaries, and fail offline), so CUDA is an explicit step after `npm ci`.
const CUDA_INSTALL_HINT = 'install its CUDA 12 binaries with `npm run install-cuda` (needs network access)';

/** onnxruntime-node ships the CPU (and WebGPU) providers; the CUDA provider library is a separate download. */
function cudaProviderInstalled(): boolean {
  const require = createRequire(import.meta.url);
  const pkg = path.dirname(require.resolve('onnxruntime-node/package.json'));
  const bin = path.join(pkg, 'bin', 'napi-v6', `${process.platform}`, `${process.arch}`);
  return (
    existsSync(path.join(bin, 'libonnxruntime_providers_cuda.so')) ||
    existsSync(path.join(bin, 'onnxruntime_providers_cuda.dll'))
  );
}

/** Picks the device: `auto` means CUDA when its provider is installed, else CPU. */
export function resolveDevice(choice: DeviceChoice): Device {
  switch (choice) {
    case 'auto':
      return cudaProviderInstalled() ? 'cuda' : 'cpu';
    case 'cuda':
      if (!cudaProviderInstalled())
        throw new UserError(`--device cuda: the CUDA execution provider is not installed; ${CUDA_INSTALL_HINT}`);
      return 'cuda';
    case 'cpu':
    case 'webgpu':
      return choice;
  }
}

/** `--device`: a provider, and for CUDA optionally which GPU (`cuda:1`, ORT's device id; one shard per GPU). */
export function parseDeviceChoice(value: string): { choice: DeviceChoice; deviceId?: number } {
  const gpu = /^cuda:(\d+)$/.exec(value);
  if (gpu) return { choice: 'cuda', deviceId: Number(gpu[1]) };
  if (!(DEVICE_CHOICES as readonly string[]).includes(value)) {
    throw new UserError(`--device ${value}: expected one of ${DEVICE_CHOICES.join(', ')}, or cuda:K for GPU K`);
  }
  return { choice: value as DeviceChoice };
}
