package io.piston.http;

import io.netty.buffer.ByteBuf;
import io.piston.log.Log;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * A request body as it arrives: filled on the IO thread, kept in memory up to a threshold and
 * spooled to a temp file past it; read on the worker thread once complete, deleted when the
 * exchange ends.
 */
public final class RequestBody {
    private static final byte[] NONE = new byte[0];

    private final int memoryLimit;
    private final Path tempDir;
    private byte[] bytes = NONE;
    private long size;
    private Path file;
    private FileChannel fileChannel;

    public RequestBody(int memoryLimit, Path tempDir, long expectedLength) {
        this.memoryLimit = memoryLimit;
        this.tempDir = tempDir;
        if (expectedLength > 0 && expectedLength <= memoryLimit) bytes = new byte[(int) expectedLength];
    }

    /** IO thread: appends a chunk (the caller keeps ownership of the buffer). */
    public void append(ByteBuf chunk) throws IOException {
        int n = chunk.readableBytes();
        if (n == 0) return;
        if (fileChannel == null && size + n > memoryLimit) spill();
        if (fileChannel != null) {
            ByteBuffer nio = chunk.nioBuffer(chunk.readerIndex(), n);
            while (nio.hasRemaining()) fileChannel.write(nio);
        } else {
            if (size + n > bytes.length) bytes = Arrays.copyOf(bytes, (int) Math.min(memoryLimit, Math.max(size + n, bytes.length * 2L)));
            chunk.getBytes(chunk.readerIndex(), bytes, (int) size, n);
        }
        size += n;
    }

    private void spill() throws IOException {
        file = Files.createTempFile(tempDir, "piston-body-", ".tmp");
        fileChannel = FileChannel.open(file, StandardOpenOption.WRITE);
        fileChannel.write(ByteBuffer.wrap(bytes, 0, (int) size));
        bytes = NONE;
    }

    /** IO thread: the last chunk arrived. */
    public void complete() throws IOException {
        if (fileChannel != null) {
            fileChannel.close();
            fileChannel = null;
        }
    }

    public long size() {
        return size;
    }

    public boolean inMemory() {
        return file == null;
    }

    /** The body bytes; valid from 0 to {@link #size()} when {@link #inMemory()}. */
    public byte[] bytes() {
        return bytes;
    }

    /** The spool file when the body did not fit in memory, else null. */
    public Path file() {
        return file;
    }

    /** Any thread, once: frees the memory and removes the temp file. */
    public synchronized void discard() {
        bytes = NONE;
        try {
            if (fileChannel != null) fileChannel.close();
            if (file != null) Files.deleteIfExists(file);
        } catch (IOException e) {
            Log.warn("could not remove request body file " + file + ": " + e);
        }
        fileChannel = null;
        file = null;
    }
}
