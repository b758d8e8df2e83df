using System.Buffers.Binary;
using System.IO.Compression;

namespace NeuralCore.Data;

/// <summary>
/// The gzip checks shared by the readers of compressed files (<see cref="IdxReader"/>, <see cref="NumericTable"/>).
/// </summary>
/// <remarks>
/// .NET's <see cref="GZipStream"/> verifies a member's CRC-32 and length when its 8-byte trailer is there, but reports
/// a stream cut anywhere (in the deflate data or the trailer) as a normal end, and reads a file that is not gzip at all
/// as an "unsupported compression method" without naming it. (The runtime's opt-in switch
/// <c>System.IO.Compression.UseStrictValidation</c> would catch cuts, but it is process-wide and read once, not
/// something a library may set.) The trailer's size field, read from the end of a seekable file, closes the gap:
/// when the decompressed length equals it, the trailer was there, so zlib has checked the CRC as well.
/// </remarks>
internal static class Gzip
{
    /// <summary>The smallest gzip member: a 10-byte header, an empty deflate block and an 8-byte trailer.</summary>
    internal const int MinLength = 18;

    /// <summary>Whether <paramref name="start"/> begins with the gzip magic bytes <c>1f 8b</c>.</summary>
    internal static bool HasMagic(ReadOnlySpan<byte> start) => start.Length >= 2 && start[0] == 0x1f && start[1] == 0x8b;

    /// <summary>
    /// A seekable gzip stream's length from its position and the size field of its last 4 bytes (ISIZE: the last
    /// member's uncompressed length mod 2^32); the position is restored. Null when it is shorter than any gzip member.
    /// </summary>
    internal static GzipTrailer? ReadTrailer(Stream stream)
    {
        long start = stream.Position;
        long compressedLength = stream.Length - start;
        if (compressedLength < MinLength)
        {
            return null;
        }

        Span<byte> size = stackalloc byte[4];
        stream.Seek(-4, SeekOrigin.End);
        stream.ReadExactly(size);
        stream.Position = start;
        return new GzipTrailer(compressedLength, BinaryPrimitives.ReadUInt32LittleEndian(size));
    }

    /// <summary>zlib's complaint about bad data, as an exception that names the file.</summary>
    internal static InvalidDataException Corrupt(string name, InvalidDataException inner) =>
        new($"{name}: corrupt gzip data: {inner.Message.TrimEnd('.')}.", inner);

    /// <summary>
    /// Opens the gzip file in <paramref name="file"/> (seekable, at its start) for decompression, refusing it by
    /// <paramref name="name"/> unless it starts like gzip, and checking at the end of the data that the decompressed
    /// length equals the trailer's size field. The returned stream owns <paramref name="file"/>.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is too short or not gzip (at once), or turns out truncated or corrupt (when read).</exception>
    internal static Stream OpenVerified(Stream file, string name)
    {
        Span<byte> sniff = stackalloc byte[2];
        int sniffed = file.ReadAtLeast(sniff, 2, throwOnEndOfStream: false);
        if (!HasMagic(sniff[..sniffed]))
        {
            throw NotGzip(name, sniffed == 0 ? "the file is empty" : "it does not start with the gzip magic bytes 1f 8b");
        }

        file.Position = 0;
        if (ReadTrailer(file) is not { } trailer)
        {
            throw NotGzip(name, $"{file.Length} bytes, fewer than the {MinLength} of the smallest gzip file");
        }

        return new VerifiedGzipStream(file, name, trailer.Size, leaveOpen: false);
    }

    /// <summary>
    /// Decompresses <paramref name="file"/> from where it stands, checking at the end of the data that the decompressed
    /// length equals <paramref name="trailer"/>'s size field (read by <see cref="ReadTrailer"/> from the same position),
    /// and naming the file in zlib's errors; <paramref name="file"/> is left open.
    /// </summary>
    internal static Stream Verified(Stream file, string name, GzipTrailer trailer) =>
        new VerifiedGzipStream(file, name, trailer.Size, leaveOpen: true);

    private static InvalidDataException NotGzip(string name, string detail) => new($"{name}: truncated or not a gzip file ({detail}).");

    /// <summary>Decompresses, names the file in zlib's errors, and at the end compares the length with the trailer's.</summary>
    internal sealed class VerifiedGzipStream(Stream file, string name, uint expectedSize, bool leaveOpen) : ForwardOnlyStream
    {
        private readonly GZipStream _gzip = new(file, CompressionMode.Decompress, leaveOpen);
        private ulong _length;
        private bool _verified;

        public override int Read(Span<byte> buffer)
        {
            int n;
            try
            {
                n = _gzip.Read(buffer);
            }
            catch (InvalidDataException e)
            {
                throw Corrupt(name, e);
            }

            _length += (uint)n;
            if (n == 0 && !buffer.IsEmpty && !_verified)
            {
                // A cut file ends where its data ran out: its last 4 bytes are then deflate data or part of the
                // trailer, which equal the length read only by a 1-in-2^32 chance. (A file of several gzip members,
                // as `cat a.gz b.gz` makes, ends with the last member's size alone, and is refused here too.)
                if ((uint)_length != expectedSize)
                {
                    throw NotGzip(name,
                        $"it decompressed to {_length} bytes, but its trailer's size field says {expectedSize} (mod 2^32): the file was cut short, is damaged, or holds several gzip members");
                }

                _verified = true;
            }

            return n;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _gzip.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}

/// <summary>A seekable gzip stream's compressed length and its trailer's size field (ISIZE).</summary>
internal readonly record struct GzipTrailer(long CompressedLength, uint Size);
