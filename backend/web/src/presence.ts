// Motion-based presence detection for the kiosk (NOT face detection): the kiosk asks for a
// liveness challenge and prompts its movements only once something in front of the camera
// changed, instead of prompting an empty hall all day. It compares a tiny grey copy of each
// camera frame with a slowly adapting picture of the empty scene (a running average): when
// enough of the picture differs, someone is in front of the camera; a person who stands still
// keeps counting as present until the background absorbs them (several seconds), and any
// movement renews it. Whether that someone shows a face is the server's decision
// (`/kiosk/identify` answers 422 `no_face`, and the kiosk goes back to waiting).

/** Size of the grey copy a frame is reduced to (cheap: 768 pixels). */
export const PRESENCE_WIDTH = 32;
export const PRESENCE_HEIGHT = 24;

/** Luma (0–255) of each pixel of an RGBA image. */
export function luma(rgba: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rgba.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = 0.299 * rgba[4 * i]! + 0.587 * rgba[4 * i + 1]! + 0.114 * rgba[4 * i + 2]!;
  return out;
}

export interface PresenceOptions {
  /** A pixel differs from the background by more than this (of 255). */
  pixelThreshold: number;
  /** Someone is present when more than this share of the pixels differs. */
  areaThreshold: number;
  /** How fast the background follows the picture, per frame (0–1). */
  adapt: number;
  /** How long presence lasts after the last frame that differed, ms. */
  holdMs: number;
}

export const DEFAULT_PRESENCE: PresenceOptions = { pixelThreshold: 25, areaThreshold: 0.04, adapt: 0.05, holdMs: 3000 };

export class MotionPresence {
  private background: Float32Array | null = null;
  private lastChange = -Infinity;
  private readonly o: PresenceOptions;

  constructor(options: Partial<PresenceOptions> = {}) {
    this.o = { ...DEFAULT_PRESENCE, ...options };
  }

  /** The share of pixels of `grey` that differ from the background (0 for the first frame). */
  changed(grey: Float32Array): number {
    const bg = this.background;
    if (!bg || bg.length !== grey.length) return 0;
    let n = 0;
    for (let i = 0; i < grey.length; i++) if (Math.abs(grey[i]! - bg[i]!) > this.o.pixelThreshold) n++;
    return n / grey.length;
  }

  /** Feeds a frame taken at `nowMs`; whether someone is in front of the camera. */
  update(grey: Float32Array, nowMs: number): boolean {
    const bg = this.background;
    if (!bg || bg.length !== grey.length) {
      // The first frame is taken as the empty scene.
      this.background = Float32Array.from(grey);
      return false;
    }
    if (this.changed(grey) > this.o.areaThreshold) this.lastChange = nowMs;
    for (let i = 0; i < grey.length; i++) bg[i]! += this.o.adapt * (grey[i]! - bg[i]!);
    return nowMs - this.lastChange < this.o.holdMs;
  }

  /** Forgets the last change (after an identification): presence is judged again from the next frame. */
  rearm(): void {
    this.lastChange = -Infinity;
  }
}
