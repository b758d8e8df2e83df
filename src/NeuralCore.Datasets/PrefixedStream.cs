namespace NeuralCore.Data;

/// <summary>
/// A read-only, forward-only stream that yields <c>prefix</c> and then the rest of <c>inner</c>: gives back the bytes
/// sniffed from an unseekable stream. Does not own <c>inner</c>.
/// </summary>
internal sealed class PrefixedStream(byte[] prefix, Stream inner) : ForwardOnlyStream
{
    private int _position;

    public override int Read(Span<byte> buffer) =>
        Prefix.TryRead(prefix, ref _position, buffer, out int n) ? n : inner.Read(buffer);
}

/// <summary>The part of a prefixed reader that hands out the prefix (<see cref="PrefixedStream"/> for bytes, the CSV reader's for characters).</summary>
internal static class Prefix
{
    /// <summary>
    /// Copies what is left of <paramref name="prefix"/> from <paramref name="position"/> into <paramref name="buffer"/>
    /// and returns true, or returns false once the prefix is used up (or the buffer is empty): then the inner source reads.
    /// </summary>
    public static bool TryRead<T>(ReadOnlySpan<T> prefix, ref int position, Span<T> buffer, out int read)
    {
        read = Math.Min(buffer.Length, prefix.Length - position);
        if (read <= 0)
        {
            read = 0;
            return false;
        }

        prefix.Slice(position, read).CopyTo(buffer);
        position += read;
        return true;
    }
}
