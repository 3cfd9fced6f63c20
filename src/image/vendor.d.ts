// libheif-js's factory module (libheif-wasm/libheif.js, its typings in libheif.d.ts are not exported
// for that path); this is the part of libheif's emscripten binding the image layer uses.
declare module 'libheif-js' {
  interface HeifError {
    code: number;
    message: string;
  }
  export interface Libheif {
    heif_error_code: { heif_error_Ok: number };
    heif_colorspace: { heif_colorspace_RGB: number };
    heif_chroma: { heif_chroma_interleaved_RGB: number; heif_chroma_interleaved_RGBA: number };
    heif_channel: { heif_channel_interleaved: number };
    heif_context_alloc(): unknown;
    heif_context_free(ctx: unknown): void;
    heif_context_read_from_memory(ctx: unknown, bytes: Uint8Array): HeifError;
    /** A handle, or a HeifError. */
    heif_js_context_get_primary_image_handle(ctx: unknown): unknown;
    heif_image_handle_has_alpha_channel(handle: unknown): number;
    heif_image_handle_release(handle: unknown): void;
    /** { image, channels: [{ id, width, height, stride, data }] } with data a view on the wasm heap, or a HeifError. */
    heif_js_decode_image2(
      handle: unknown,
      colorspace: number,
      chroma: number,
    ): Promise<{ image: unknown; channels: unknown[]; code?: number; message?: string } | null>;
    heif_image_release(image: unknown): void;
  }
}
