// Redis Cluster's key -> hash slot mapping: CRC16 (XMODEM) of the key, or of its {hash tag}, mod 16384.

const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let j = 0; j < 8; j++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

function crc16(bytes: Uint8Array, start: number, end: number): number {
  let crc = 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ bytes[i]!) & 0xff]!;
  return crc;
}

export const SLOTS = 16384;

export function keySlot(key: Uint8Array): number {
  const open = key.indexOf(0x7b); // {
  if (open >= 0) {
    const close = key.indexOf(0x7d, open + 1); // }
    if (close > open + 1) return crc16(key, open + 1, close) & (SLOTS - 1);
  }
  return crc16(key, 0, key.length) & (SLOTS - 1);
}
