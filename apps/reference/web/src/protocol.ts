// Messages between the page (main.ts) and the quantization worker (worker.ts).
import type { ModelInspection } from '@quint/onnx';

/** The CLI's `--qconfig`, `--engine` and `--format` choices. */
export const QCONFIG_PRESETS = ['qnnpack', 'fbgemm', 'x86', 'onednn'] as const;
export const ENGINE_CHOICES = ['qnnpack', 'onednn', 'ort', 'fbgemm'] as const;
export const FORMAT_CHOICES = ['qdq', 'qoperator'] as const;

export interface QuantizeOptions {
  readonly qconfig: (typeof QCONFIG_PRESETS)[number];
  readonly engine: (typeof ENGINE_CHOICES)[number];
  readonly format: (typeof FORMAT_CHOICES)[number];
}

export type ToWorker =
  | {
      readonly kind: 'quantize';
      readonly job: number;
      readonly model: ArrayBuffer;
      readonly calib: ArrayBuffer;
      /** Inputs to run besides the calibration samples (the bundled MNIST evaluation digits). */
      readonly samples: ArrayBuffer | null;
      readonly modelName: string;
      readonly calibName: string;
      readonly options: QuantizeOptions;
    }
  | { readonly kind: 'run'; readonly job: number; readonly set: 'samples' | 'calib'; readonly index: number };

export type Stage = 'backend' | 'load' | 'calibrate' | 'convert' | 'save' | 'verify' | 'report' | 'run';

/** What the result view shows (all plain data). */
export interface QuantizeSummary {
  readonly backend: string;
  readonly float: ModelInspection;
  readonly int8: ModelInspection;
  readonly int8FileBytes: number;
  readonly calibrationShape: readonly number[];
  readonly inputShape: readonly number[];
  readonly samples: number;
  readonly milliseconds: number;
  readonly warnings: readonly string[];
  /** buildReport's self-contained HTML (the plots of `quint report`). */
  readonly reportHtml: string;
  /** Whether the report's graph exports to the same ONNX as the download. */
  readonly sameAsDownload: boolean;
}

export interface RunOutput {
  readonly name: string;
  readonly shape: readonly number[];
  readonly float: Float32Array;
  readonly int8: Float32Array;
}

export type FromWorker =
  | {
      readonly kind: 'progress';
      readonly job: number;
      readonly stage: Stage;
      readonly done: number;
      readonly total: number;
    }
  | { readonly kind: 'warning'; readonly job: number; readonly line: string }
  | { readonly kind: 'quantized'; readonly job: number; readonly bytes: ArrayBuffer; readonly summary: QuantizeSummary }
  | {
      readonly kind: 'ran';
      readonly job: number;
      readonly inputShape: readonly number[];
      readonly input: Float32Array;
      readonly outputs: readonly RunOutput[];
    }
  | { readonly kind: 'error'; readonly job: number; readonly line: string };
