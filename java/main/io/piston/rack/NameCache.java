package io.piston.rack;

import io.netty.util.AsciiString;

/**
 * A small direct-mapped cache from the bytes of a header name or value (as Netty decoded it) to
 * a value built once, so the hot path neither allocates a String nor hashes one. Read and filled
 * by any worker thread without locks: an entry is immutable and published whole; a collision
 * just replaces the older entry. The fixed size bounds memory whatever names clients send.
 */
final class NameCache<V> {
    private record Entry<V>(byte[] name, V value) {}

    private final Entry<V>[] slots;
    private final int mask;

    @SuppressWarnings("unchecked")
    NameCache(int size) {
        if (Integer.bitCount(size) != 1) throw new IllegalArgumentException("size must be a power of two");
        slots = (Entry<V>[]) new Entry[size];
        mask = size - 1;
    }

    V get(AsciiString name) {
        Entry<V> e = slots[hash(name) & mask];
        return e != null && matches(e.name, name) ? e.value : null;
    }

    void put(AsciiString name, V value) {
        slots[hash(name) & mask] = new Entry<>(name.toByteArray(), value);
    }

    private static int hash(AsciiString s) {
        byte[] a = s.array();
        int h = 0;
        for (int i = s.arrayOffset(), end = i + s.length(); i < end; i++) h = 31 * h + a[i];
        return h ^ (h >>> 16);
    }

    private static boolean matches(byte[] cached, AsciiString s) {
        if (cached.length != s.length()) return false;
        byte[] a = s.array();
        for (int i = 0, j = s.arrayOffset(); i < cached.length; i++, j++) if (cached[i] != a[j]) return false;
        return true;
    }
}
