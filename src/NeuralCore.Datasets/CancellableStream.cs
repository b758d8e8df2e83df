namespace NeuralCore.Data;

/// <summary>
/// A read-only view of a stream that checks a cancellation token before every read and reads at most
/// <see cref="MaxChunk"/> bytes at a time, so that a reader decompressing or copying a large file stops within a few
/// milliseconds of a Ctrl+C instead of after the whole file. Seeking passes through.
/// </summary>
internal sealed class CancellableStream(Stream inner, CancellationToken cancellationToken) : Stream
{
    /// <summary>The most bytes one read returns: about a millisecond of decompression.</summary>
    public const int MaxChunk = 1 << 20;

    public override bool CanRead => true;

    public override bool CanSeek => inner.CanSeek;

    public override bool CanWrite => false;

    public override long Length => inner.Length;

    public override long Position
    {
        get => inner.Position;
        set => inner.Position = value;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return inner.Read(buffer[..Math.Min(buffer.Length, MaxChunk)]);
    }

    public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
