using System.Buffers.Binary;
using System.IO.Compression;

namespace NeuralCore.Tests.Data;

/// <summary>Builds small IDX files for the data tests.</summary>
internal static class Idx
{
    /// <summary>An IDX file: two zero bytes, <paramref name="type"/>, the rank, big-endian dimensions, then <paramref name="body"/>.</summary>
    public static byte[] Build(byte type, uint[] dimensions, ReadOnlySpan<byte> body)
    {
        var bytes = new byte[4 + (4 * dimensions.Length) + body.Length];
        bytes[2] = type;
        bytes[3] = (byte)dimensions.Length;
        for (int i = 0; i < dimensions.Length; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(4 + (4 * i)), dimensions[i]);
        }

        body.CopyTo(bytes.AsSpan(4 + (4 * dimensions.Length)));
        return bytes;
    }

    /// <summary>An unsigned-byte IDX file.</summary>
    public static byte[] Build(uint[] dimensions, ReadOnlySpan<byte> body) => Build(0x08, dimensions, body);

    /// <summary>The bytes 0, 1, 2, … (mod 256).</summary>
    public static byte[] Ramp(int length) => [.. Enumerable.Range(0, length).Select(i => (byte)i)];

    public static byte[] Gzip(byte[] raw)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(raw);
        }

        return output.ToArray();
    }
}

/// <summary>A fresh folder under the system temp folder, deleted on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory() => Path = Directory.CreateTempSubdirectory("neuralcore-test-").FullName;

    public string Path { get; }

    public string Write(string name, byte[] bytes)
    {
        string path = System.IO.Path.Combine(Path, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    public string[] Files() => [.. Directory.GetFiles(Path).Select(System.IO.Path.GetFileName).Order(StringComparer.Ordinal)!];

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}

/// <summary>Hides a stream's seekability, like a network stream.</summary>
internal sealed class UnseekableStream(Stream inner) : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

    public override int Read(Span<byte> buffer) => inner.Read(buffer);

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
