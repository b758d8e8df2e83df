using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NeuralCore.IO;

namespace NeuralCore.Data;

/// <summary>
/// Reads IDX files, raw or gzip-compressed (detected by the gzip magic bytes <c>1f 8b</c>, not by the file name).
/// </summary>
/// <remarks>
/// <para>
/// Layout (big-endian): two zero bytes; a data type byte (only <c>0x08</c>, unsigned byte, is supported); a dimension
/// count byte <c>r</c> (1 to <see cref="MaxRank"/>); <c>r</c> 32-bit dimension sizes; then the product of the sizes in
/// elements, row-major, and nothing after them.
/// </para>
/// <para>
/// Everything is validated before the body is allocated, and a header is never trusted alone: for a raw seekable
/// stream the claimed size must equal what the stream holds; for gzip or an unseekable stream the buffer starts at
/// 64 KiB at most and grows only as data actually arrives, so a tiny file that claims gigabytes fails after reading
/// what it has. (A seekable gzip file is allocated its full size at once when its trailer's size field agrees with
/// the header and the compressed size could hold that much at deflate's maximum ratio of 1032:1.) Every malformed input throws <see cref="InvalidDataException"/> whose message starts with the name
/// of the file and names the problem.
/// </para>
/// <para>
/// Gzip decoding is .NET's <see cref="GZipStream"/>: it verifies each member's CRC-32 and length when the trailer is
/// there, but it reports a cut stream as a normal end (the exact size checks above then reject every cut that loses
/// data). From a seekable stream (a file), the decompressed length must also equal the size field of the stream's
/// last 4 bytes, which refuses a trailer cut off and bytes after the gzip data; from a stream that cannot seek, a cut
/// after the last data byte and bytes after the last member go unnoticed. To detect any damage to the compressed
/// file, check its hash (as <see cref="MnistDownloader"/> does).
/// </para>
/// </remarks>
public static class IdxReader
{
    /// <summary>The largest number of dimensions accepted.</summary>
    public const int MaxRank = 4;

    /// <summary>The data type code of unsigned bytes, the only one supported.</summary>
    public const byte UnsignedByte = 0x08;

    /// <summary>The largest number of elements accepted (<see cref="Array.MaxLength"/>, about 2^31).</summary>
    public const int MaxElements = 0x7FFFFFC7;

    /// <summary>The first allocation when the body's size cannot be checked against the stream's length.</summary>
    internal const int InitialCapacity = 64 * 1024;

    // Deflate's largest expansion (a 258-byte match in about 2 bits).
    private const long MaxDeflateRatio = 1032;

    // Trailing data past this is reported as "more than" rather than counted to the end (a gzip bomb stays cheap).
    private const int TrailingScanLimit = 1 << 20;

    /// <summary>Reads the IDX file at <paramref name="path"/>, raw or gzip-compressed.</summary>
    /// <param name="path">The file's path; error messages name it as given.</param>
    /// <returns>The file's type, dimensions and data.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="UnauthorizedAccessException">A folder on the path does not let this user look inside (permission denied, not reported as missing), or the file may not be read.</exception>
    /// <exception cref="DirectoryNotFoundException">A folder on the path does not exist.</exception>
    /// <exception cref="InvalidDataException">
    /// The contents are not a valid IDX file: wrong magic, unsupported data type, no or too many dimensions, a size
    /// over <see cref="MaxElements"/>, a truncated header or body, trailing data, or corrupt gzip data.
    /// </exception>
    /// <exception cref="InsufficientMemoryException">The header declares a body larger than the memory this process may use (refused before reading it).</exception>
    /// <exception cref="IOException">The file could not be read.</exception>
    public static IdxFile Read(string path) => Read(path, MaxElements);

    /// <summary>
    /// Reads an IDX file whose header may declare at most <paramref name="maxElements"/> elements: a larger one is
    /// refused from its header, before any of its body is read or decompressed (a compressed file cannot then expand
    /// beyond what the caller allows).
    /// </summary>
    /// <param name="path">The file, raw or <c>.gz</c>.</param>
    /// <param name="maxElements">The most elements the caller accepts, from 0 to <see cref="MaxElements"/>.</param>
    /// <returns>The file's type, dimensions and data.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxElements"/> is out of range.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="UnauthorizedAccessException">A folder on the path does not let this user look inside (permission denied, not reported as missing), or the file may not be read.</exception>
    /// <exception cref="InvalidDataException">The contents are not a valid IDX file, or declare more elements than allowed.</exception>
    /// <exception cref="InsufficientMemoryException">The header declares a body larger than the memory this process may use (refused before reading it).</exception>
    /// <exception cref="IOException">The file could not be read.</exception>
    public static IdxFile Read(string path, long maxElements) => Read(path, maxElements, CancellationToken.None);

    /// <summary>
    /// <see cref="Read(string, long)"/> that stops, throwing <see cref="OperationCanceledException"/>, within about a
    /// megabyte of reading once <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="maxElements">The most elements the caller accepts, from 0 to <see cref="MaxElements"/>.</param>
    /// <param name="cancellationToken">Stops the read.</param>
    /// <returns>The file's type, dimensions and data.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxElements"/> is out of range.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="UnauthorizedAccessException">A folder on the path does not let this user look inside (permission denied, not reported as missing), or the file may not be read.</exception>
    /// <exception cref="IOException">The path is a directory, a named pipe, a device or a socket (refused before opening it), or the file could not be read.</exception>
    /// <exception cref="InvalidDataException">The contents are not a valid IDX file, or declare more elements than allowed.</exception>
    /// <exception cref="InsufficientMemoryException">The header declares a body larger than the memory this process may use (refused before reading it).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static IdxFile Read(string path, long maxElements, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Check.InRange(maxElements, 0, MaxElements, nameof(maxElements), "an element limit");
        InputFile.RequireRegular(path, "IDX file");
        cancellationToken.ThrowIfCancellationRequested();
        // Large reads: a 4 KB buffer made 2,400 read calls for the training images, each costly in a VM.
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        using Stream stream = cancellationToken.CanBeCanceled ? new CancellableStream(file, cancellationToken) : file;
        return Read(stream, path, maxElements);
    }

    /// <summary>
    /// Reads an IDX file from <paramref name="stream"/>, raw or gzip-compressed, from its current position to its end.
    /// The stream is left open.
    /// </summary>
    /// <param name="stream">A readable stream; seekable or not.</param>
    /// <param name="name">The name used in error messages (e.g. the file name or URL).</param>
    /// <returns>The file's type, dimensions and data.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="stream"/> cannot be read.</exception>
    /// <exception cref="InvalidDataException">The contents are not a valid IDX file (see <see cref="Read(string)"/>).</exception>
    /// <exception cref="InsufficientMemoryException">The header declares a body larger than the memory this process may use (refused before reading it).</exception>
    /// <exception cref="IOException">The stream could not be read.</exception>
    public static IdxFile Read(Stream stream, string name) => Read(stream, name, MaxElements);

    /// <summary>
    /// The dimensions an IDX file's header declares (raw or gzip), reading nothing past the header: to compare files,
    /// or to decide whether to read a body at all.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <returns>The dimensions, or null when the header is not a readable IDX header (<see cref="Read(string)"/> then says why).</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="UnauthorizedAccessException">A folder on the path does not let this user look inside (permission denied, not reported as missing), or the file may not be read.</exception>
    /// <exception cref="IOException">The file could not be read.</exception>
    public static int[]? ReadDimensions(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        InputFile.RequireRegular(path, "IDX file");
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 4096);
        Span<byte> sniff = stackalloc byte[2];
        int sniffed = file.ReadAtLeast(sniff, 2, throwOnEndOfStream: false);
        file.Seek(0, SeekOrigin.Begin);
        using Stream source = Gzip.HasMagic(sniff[..sniffed]) ? new GZipStream(file, CompressionMode.Decompress, leaveOpen: true) : file;
        Span<byte> header = stackalloc byte[4 + (4 * MaxRank)];
        try
        {
            if (source.ReadAtLeast(header[..4], 4, throwOnEndOfStream: false) < 4 || header[0] != 0 || header[1] != 0)
            {
                return null;
            }

            int rank = header[3];
            if (rank is < 1 or > MaxRank || source.ReadAtLeast(header.Slice(4, 4 * rank), 4 * rank, throwOnEndOfStream: false) < 4 * rank)
            {
                return null;
            }

            var dimensions = new int[rank];
            for (int i = 0; i < rank; i++)
            {
                dimensions[i] = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(header[(4 + (4 * i))..]), int.MaxValue);
            }

            return dimensions;
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }

    /// <summary>As <see cref="Read(Stream, string)"/>, refusing from its header a file of more than <paramref name="maxElements"/> elements.</summary>
    /// <param name="stream">A readable stream; seekable or not.</param>
    /// <param name="name">The name used in error messages.</param>
    /// <param name="maxElements">The most elements the caller accepts, from 0 to <see cref="MaxElements"/>.</param>
    /// <returns>The file's type, dimensions and data.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxElements"/> is out of range.</exception>
    /// <exception cref="InvalidDataException">The contents are not a valid IDX file, or declare more elements than allowed.</exception>
    /// <exception cref="InsufficientMemoryException">The header declares a body larger than the memory this process may use (refused before reading it).</exception>
    /// <exception cref="IOException">The stream could not be read.</exception>
    public static IdxFile Read(Stream stream, string name, long maxElements)
    {
        Check.InRange(maxElements, 0, MaxElements, nameof(maxElements), "an element limit");
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(name);
        if (!stream.CanRead)
        {
            throw new ArgumentException($"Expected a readable stream. Received: stream of type {stream.GetType().Name} with CanRead=false.", nameof(stream));
        }

        Span<byte> sniff = stackalloc byte[2];
        int sniffed = stream.ReadAtLeast(sniff, 2, throwOnEndOfStream: false);
        bool gzip = Gzip.HasMagic(sniff[..sniffed]);

        // Present the sniffed bytes again: seek back where possible, replay them otherwise.
        Stream source;
        long? available = null;
        if (stream.CanSeek)
        {
            stream.Seek(-sniffed, SeekOrigin.Current);
            source = stream;
            available = gzip ? null : stream.Length - stream.Position;
        }
        else
        {
            source = new PrefixedStream(sniff[..sniffed].ToArray(), stream);
        }

        if (!gzip)
        {
            return ReadIdx(source, name, available, compressed: false, maxElements);
        }

        // A seekable file's end is checked against its trailer's size field (Gzip.Verified): bytes after the gzip data,
        // or a trailer cut off, were accepted while the CSV reader refused both.
        GzipTrailer? hint = stream.CanSeek ? Gzip.ReadTrailer(stream) : null;
        using Stream decompressed = hint is { } trailer
            ? Gzip.Verified(source, name, trailer)
            : new GZipStream(source, CompressionMode.Decompress, leaveOpen: true);
        return ReadIdx(decompressed, name, available: null, compressed: true, maxElements, hint);
    }

    // available: the bytes left in the stream when known (raw seekable streams), else null.
    // hint: a seekable gzip stream's compressed length and trailer size field, else null.
    private static IdxFile ReadIdx(Stream source, string name, long? available, bool compressed, long maxElements, GzipTrailer? hint = null)
    {
        Span<byte> header = stackalloc byte[4 + (4 * MaxRank)];
        int read = Fill(source, header[..4], name, compressed);
        if (read < 4)
        {
            throw Fail(name, read == 0 ? "empty: expected an IDX header of at least 4 bytes" : $"truncated header: expected at least 4 bytes, found {read}");
        }

        if (header[0] != 0 || header[1] != 0)
        {
            throw Fail(name, $"bad magic number 0x{BinaryPrimitives.ReadUInt32BigEndian(header):X8}: an IDX file starts with two zero bytes, then the type and the dimension count (0x00000801 to 0x00000804 for unsigned bytes)");
        }

        byte type = header[2];
        if (type != UnsignedByte)
        {
            throw Fail(name, $"unsupported data type 0x{type:X2} ({TypeName(type)}): only 0x08 (unsigned byte) is supported");
        }

        int rank = header[3];
        if (rank == 0)
        {
            throw Fail(name, "no dimensions: the dimension count byte is 0 (expected 1 to 4)");
        }

        if (rank > MaxRank)
        {
            throw Fail(name, $"too many dimensions: {rank} (at most {MaxRank} are supported)");
        }

        int headerLength = 4 + (4 * rank);
        read = Fill(source, header[4..headerLength], name, compressed);
        if (read < headerLength - 4)
        {
            throw Fail(name, $"truncated header: expected {headerLength} bytes for {rank} dimensions, found {4 + read}");
        }

        var dimensions = new int[rank];
        UInt128 product = 1;
        for (int i = 0; i < rank; i++)
        {
            uint size = BinaryPrimitives.ReadUInt32BigEndian(header[(4 + (4 * i))..]);
            product *= size; // at most four factors below 2^32: no overflow in 128 bits
            dimensions[i] = (int)Math.Min(size, int.MaxValue);
            if (size > int.MaxValue)
            {
                throw Fail(name, $"dimension {i} is {size}, more than the limit of {int.MaxValue}");
            }
        }

        if (product > MaxElements)
        {
            throw Fail(name, $"too large: dimensions {Shape(dimensions)} hold {product} elements, more than the limit of {MaxElements}");
        }

        if (product > (ulong)maxElements)
        {
            throw Fail(name, $"too large: dimensions {Shape(dimensions)} hold {product} elements, more than the {maxElements} this reader was allowed (refused before reading the body)");
        }

        // The body is allocated at its declared size, or grows to it as data arrives: a size the process cannot hold
        // ended in OutOfMemoryException part-way through the body.
        Check.FitsInMemory((decimal)(ulong)product, $"{name}'s body ({Shape(dimensions)} bytes)",
            "read it on a machine with more memory, or refuse such files with a smaller maxElements");
        int length = (int)product;
        byte[] data;
        if (available is long total)
        {
            long body = total - headerLength;
            if (body < length)
            {
                throw Fail(name, $"truncated body: expected {length} bytes of data ({Shape(dimensions)}), found {body}");
            }

            if (body > length)
            {
                throw Fail(name, $"trailing data: {body - length} bytes after the {length}-byte body ({Shape(dimensions)})");
            }

            data = GC.AllocateUninitializedArray<byte>(length);
            read = Fill(source, data, name, compressed);
            if (read < length)
            {
                throw Fail(name, $"truncated body: expected {length} bytes of data ({Shape(dimensions)}), found {read}");
            }
        }
        else
        {
            // ISIZE is the uncompressed size mod 2^32 of the last member: for one member, the whole file.
            bool plausible = hint is { } h && h.Size == (uint)(headerLength + length) && length <= h.CompressedLength * MaxDeflateRatio;
            data = ReadGrowing(source, name, length, plausible ? length : InitialCapacity, dimensions, compressed);
            long extra = CountTrailing(source, name, compressed);
            if (extra > 0)
            {
                string amount = extra > TrailingScanLimit ? $"more than {TrailingScanLimit}" : $"{extra}";
                throw Fail(name, $"trailing data: {amount} bytes after the {length}-byte body ({Shape(dimensions)})");
            }
        }

        return new IdxFile(name, type, dimensions, data);
    }

    /// <summary>Reads exactly <paramref name="length"/> bytes into a buffer that grows (doubling) only as data arrives.</summary>
    private static byte[] ReadGrowing(Stream source, string name, int length, int capacity, int[] dimensions, bool compressed)
    {
        byte[] buffer = GC.AllocateUninitializedArray<byte>(Math.Min(length, capacity));
        if (buffer.Length == length && length >= PrefaultMinimum)
        {
            FillPrefaulted(source, name, buffer, dimensions, compressed);
            return buffer;
        }

        int filled = 0;
        while (true)
        {
            filled += Fill(source, buffer.AsSpan(filled), name, compressed);
            if (filled < buffer.Length)
            {
                throw Fail(name, $"truncated body: expected {length} bytes of data ({Shape(dimensions)}), found {filled}");
            }

            if (filled == length)
            {
                return buffer;
            }

            byte[] larger = GC.AllocateUninitializedArray<byte>((int)Math.Min(length, 2L * buffer.Length));
            buffer.AsSpan().CopyTo(larger);
            buffer = larger;
        }
    }

    // Below this, faulting the pages in on another thread costs more than it saves.
    private const int PrefaultMinimum = 4 << 20;

    /// <summary>
    /// Fills <paramref name="buffer"/> from the stream while another thread faults its pages in from the far end.
    /// </summary>
    /// <remarks>
    /// A fresh 47 MB buffer cost more to fault in (about 10 µs per 4 KB page in the VMs measured, 125 ms in all)
    /// than decompressing MNIST's training images into it (65 ms). The helper touches each page with an atomic OR of
    /// zero, which faults the page in for writing and can never change a byte the decompressor has written.
    /// </remarks>
    private static void FillPrefaulted(Stream source, string name, byte[] buffer, int[] dimensions, bool compressed)
    {
        var stop = new StrongBox<int>();
        Task toucher = Task.Run(() => Touch(buffer, stop));
        try
        {
            int filled = Fill(source, buffer, name, compressed);
            if (filled < buffer.Length)
            {
                throw Fail(name, $"truncated body: expected {buffer.Length} bytes of data ({Shape(dimensions)}), found {filled}");
            }
        }
        finally
        {
            Volatile.Write(ref stop.Value, 1);
            toucher.Wait();
        }
    }

    // Faults the buffer's pages in from the end until told to stop.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Touch(byte[] buffer, StrongBox<int> stop)
    {
        const int page = 4096;
        ref byte start = ref MemoryMarshal.GetArrayDataReference(buffer);
        for (long offset = ((long)buffer.Length - sizeof(int)) & ~(long)(page - 1); offset >= 0 && Volatile.Read(ref stop.Value) == 0; offset -= page)
        {
            Interlocked.Or(ref Unsafe.As<byte, int>(ref Unsafe.Add(ref start, (nint)offset)), 0);
        }
    }

    private static long CountTrailing(Stream source, string name, bool compressed)
    {
        Span<byte> scratch = stackalloc byte[512];
        long extra = 0;
        while (extra <= TrailingScanLimit)
        {
            int n = Fill(source, scratch, name, compressed);
            extra += n;
            if (n < scratch.Length)
            {
                break;
            }
        }

        return extra;
    }

    /// <summary>Reads until <paramref name="buffer"/> is full or the stream ends; returns the bytes read.</summary>
    private static int Fill(Stream source, Span<byte> buffer, string name, bool compressed)
    {
        try
        {
            return source.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        }
        catch (InvalidDataException e) when (compressed && source is not Gzip.VerifiedGzipStream)
        {
            // (A verified stream names the file itself.)
            throw Gzip.Corrupt(name, e);
        }
    }

    private static string TypeName(byte type) => type switch
    {
        0x09 => "signed byte",
        0x0B => "16-bit integer",
        0x0C => "32-bit integer",
        0x0D => "32-bit float",
        0x0E => "64-bit float",
        _ => "not an IDX type",
    };

    private static string Shape(int[] dimensions) => string.Join('×', dimensions);

    private static InvalidDataException Fail(string name, string problem, Exception? inner = null) =>
        new($"{name}: {problem}.", inner);
}
