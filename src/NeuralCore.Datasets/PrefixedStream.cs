namespace NeuralCore.Data;

/// <summary>
/// A read-only, forward-only stream that yields <c>prefix</c> and then the rest of <c>inner</c>: gives back the bytes
/// sniffed from an unseekable stream. Does not own <c>inner</c>.
/// </summary>
internal sealed class PrefixedStream(byte[] prefix, Stream inner) : ForwardOnlyStream
{
    private int _position;

    public override int Read(Span<byte> buffer)
    {
        if (_position < prefix.Length && !buffer.IsEmpty)
        {
            int n = Math.Min(buffer.Length, prefix.Length - _position);
            prefix.AsSpan(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        return inner.Read(buffer);
    }
}
