import { describe, expect, it } from 'vitest';
import { keySlot, parseRedisUrl, redactUrl } from '../src/index.js';

describe('Redis URLs', () => {
  it('parses hosts, credentials, TLS and options', () => {
    expect(parseRedisUrl('redis://127.0.0.1:7000,127.0.0.1:7001')).toEqual({
      tls: false,
      nodes: [
        { host: '127.0.0.1', port: 7000 },
        { host: '127.0.0.1', port: 7001 },
      ],
      username: undefined,
      password: undefined,
      prefix: undefined,
      timeout: undefined,
      cluster: true,
    });
    const p = parseRedisUrl('rediss://alice:p%40ss:w@redis.example:6380,[::1]:6381/?prefix=repo1:&timeout=2500');
    expect(p).toMatchObject({ tls: true, username: 'alice', password: 'p@ss:w', prefix: 'repo1:', timeout: 2500 });
    expect(p.nodes).toEqual([
      { host: 'redis.example', port: 6380 },
      { host: '::1', port: 6381 },
    ]);
    expect(parseRedisUrl('redis://:secret@h').password).toBe('secret');
    expect(parseRedisUrl('redis://:secret@h').username).toBeUndefined();
    expect(parseRedisUrl('redis://h').nodes).toEqual([{ host: 'h', port: 6379 }]);
    expect(parseRedisUrl('redis://h:1?cluster=false').cluster).toBe(false);
  });

  it('rejects malformed URLs with EINVAL and never shows the password', () => {
    for (const bad of ['http://h:1', 'redis://', 'redis://h:99999', 'redis://h:1?timeout=-1', 'redis://a:1,b:2?cluster=false', 'redis://h:x']) {
      expect(() => parseRedisUrl(bad)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    }
    expect(() => parseRedisUrl('redis://u:topsecret@h:99999')).toThrow(/u:\*\*\*@/);
    expect(redactUrl('rediss://u:topsecret@h:1')).toBe('rediss://u:***@h:1');
  });

  it('computes Redis Cluster hash slots (CRC16 XMODEM, hash tags)', () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    expect(keySlot(enc('123456789'))).toBe(0x31c3 & 16383);
    expect(keySlot(enc('foo'))).toBe(12182);
    expect(keySlot(enc('{user1000}.following'))).toBe(keySlot(enc('user1000')));
    expect(keySlot(enc('foo{}{bar}'))).toBe(keySlot(enc('foo{}{bar}')));
  });
});
