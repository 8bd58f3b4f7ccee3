// Real, tiny images for upload tests: the server checks an image's bytes against its
// declared type, so a test that uploads "a png" sends one. `label` bytes appended after
// the image's end keep it valid and make each upload's bytes tell whose they are.
const TINY = {
  png: 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAACXBIWXMAAAPoAAAD6AG1e1JrAAAADElEQVQImWMwTjsDAAI1AWbfj2mEAAAAAElFTkSuQmCC',
  jpeg: '/9j/2wBDAAYEBQYFBAYGBQYHBwYIChAKCgkJChQODwwQFxQYGBcUFhYaHSUfGhsjHBYWICwgIyYnKSopGR8tMC0oMCUoKSj/2wBDAQcHBwoIChMKChMoGhYaKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCj/wAARCAABAAEDASIAAhEBAxEB/8QAFQABAQAAAAAAAAAAAAAAAAAAAAb/xAAUEAEAAAAAAAAAAAAAAAAAAAAA/8QAFQEBAQAAAAAAAAAAAAAAAAAABgf/xAAUEQEAAAAAAAAAAAAAAAAAAAAA/9oADAMBAAIRAxEAPwCXAUUYf//Z',
  gif: 'R0lGODlhAQABAIAAAExpcTNmzCH5BAUAAAAALAAAAAABAAEAAAICTAEAOw==',
  webp: 'UklGRjoAAABXRUJQVlA4IC4AAADQAQCdASoBAAEAAUAmJaACdLoB+AADsAD+7nZ//q0PlofLQ/c+/+QWlct3YAAA',
};

export type TinyImageFormat = keyof typeof TINY;

/** A valid 1×1 image of that format, followed by `label` (e.g. whose bytes these are). */
export function tinyImage(format: TinyImageFormat, label = ''): Buffer {
  return Buffer.concat([Buffer.from(TINY[format], 'base64'), Buffer.from(label)]);
}

/** A valid PNG of exactly `size` bytes (zero padding after its end), for size assertions. */
export function pngOfSize(size: number): Buffer {
  const png = tinyImage('png');
  return Buffer.concat([png, Buffer.alloc(Math.max(0, size - png.length))]);
}
