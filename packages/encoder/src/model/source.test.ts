import { describe, expect, it } from 'vitest';
import { combineModelHash } from './hash.ts';
import { modelFileUrl, parseModelSource, transformersRemote } from './source.ts';

describe('model sources', () => {
  it('parses hub ids, mirror URLs and folders', () => {
    expect(parseModelSource('Xenova/clip-vit-base-patch16')).toEqual({ kind: 'hub', id: 'Xenova/clip-vit-base-patch16' });
    expect(parseModelSource('Xenova/clip-vit-base-patch16', { host: 'http://127.0.0.1:9' })).toEqual({
      kind: 'hub',
      id: 'Xenova/clip-vit-base-patch16',
      host: 'http://127.0.0.1:9/',
    });
    expect(parseModelSource('https://coord.example:3000/models/Xenova/clip-vit-base-patch16/')).toEqual({
      kind: 'mirror',
      baseUrl: 'https://coord.example:3000/models/',
      id: 'Xenova/clip-vit-base-patch16',
    });
    expect(parseModelSource('http://h/x/facmic-tiny-clip')).toEqual({ kind: 'mirror', baseUrl: 'http://h/x/', id: 'facmic-tiny-clip' });
    expect(parseModelSource('./models/facmic-tiny-clip')).toEqual({ kind: 'folder', path: './models/facmic-tiny-clip' });
    expect(parseModelSource('/models/facmic-tiny-clip', { runtime: 'browser', base: 'http://127.0.0.1:5/site' })).toEqual({
      kind: 'mirror',
      baseUrl: 'http://127.0.0.1:5/models/',
      id: 'facmic-tiny-clip',
    });
    expect(() => parseModelSource('not a model!')).toThrow(/neither a URL/);
  });

  it('builds the hub and mirror URLs that transformers.js requests', () => {
    const hub = { kind: 'hub', id: 'Xenova/clip-vit-base-patch16' } as const;
    expect(modelFileUrl(hub, 'onnx/vision_model.onnx')).toBe('https://huggingface.co/Xenova/clip-vit-base-patch16/resolve/main/onnx/vision_model.onnx');
    expect(transformersRemote(hub)).toEqual({ remoteHost: 'https://huggingface.co/', remotePathTemplate: '{model}/resolve/{revision}/' });
    const mirror = { kind: 'mirror', baseUrl: 'http://h:1/models', id: 'facmic-tiny-clip' } as const;
    expect(modelFileUrl(mirror, 'config.json')).toBe('http://h:1/models/facmic-tiny-clip/config.json');
  });

  it('hashes the identity files in a fixed order and needs all of them', () => {
    const files = { 'config.json': 'a'.repeat(64), 'onnx/text_model.onnx': 'b'.repeat(64), 'onnx/vision_model.onnx': 'c'.repeat(64) };
    const reordered = { 'onnx/vision_model.onnx': 'c'.repeat(64), 'config.json': 'a'.repeat(64), 'onnx/text_model.onnx': 'b'.repeat(64) };
    expect(combineModelHash(files)).toBe(combineModelHash(reordered));
    expect(combineModelHash(files)).not.toBe(combineModelHash({ ...files, 'config.json': 'd'.repeat(64) }));
    expect(() => combineModelHash({ 'config.json': 'a'.repeat(64) })).toThrow(/onnx\/text_model.onnx/);
  });
});
