using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NeuralCore.Data;

namespace NeuralCore.Tests.Data;

/// <summary>A random damage to a valid IDX file (raw or gzip), read from a seekable or an unseekable stream.</summary>
public sealed record IdxMutation(bool Gzip, bool Seekable, int Kind, int Position, byte Value, byte[] Extra)
{
    public override string ToString() =>
        $"gzip={Gzip} seekable={Seekable} kind={Kind} position={Position} value=0x{Value:X2} extra={Convert.ToHexString(Extra)}";
}

/// <summary>
/// A change to a valid IDX file's raw bytes, made before gzip compresses them: the gzip layer is then intact (its CRC
/// and size match) and only the IDX content lies. <see cref="Dimension"/> (0 to 2, or -1 for none) is set to
/// <see cref="Size"/>; then <see cref="Kind"/> 0 replaces a byte, 1 cuts, 2 appends <see cref="Extra"/>, 3 inserts a
/// byte, 4 leaves the bytes alone.
/// </summary>
public sealed record IdxRawMutation(int Dimension, uint Size, int Kind, int Position, byte Value, byte[] Extra, bool Seekable)
{
    public override string ToString() =>
        $"dimension={Dimension} size={Size} kind={Kind} position={Position} value=0x{Value:X2} extra={Convert.ToHexString(Extra)} seekable={Seekable}";
}

public static class IdxGenerators
{
    private static readonly Gen<byte> Bytes = Gen.Choose(0, 255).Select(i => (byte)i);

    public static Arbitrary<IdxMutation> Mutations() =>
        (from gzip in Gen.Elements(false, true)
         from seekable in Gen.Elements(false, true)
         from kind in Gen.Choose(0, 3)
         from position in Gen.Choose(0, 10_000)
         from value in Bytes
         from extra in Gen.ArrayOf(Bytes)
         select new IdxMutation(gzip, seekable, kind, position, value, extra))
        .ToArbitrary();

    // Declared sizes: near the true ones (3, 4, 5), small, at the limits, and anywhere in the 32 bits.
    private static readonly Gen<uint> Sizes = Gen.OneOf(
        Gen.Choose(0, 12).Select(i => (uint)i),
        Gen.Elements(0x7FFFFFFFu, 0x80000000u, uint.MaxValue, (uint)IdxReader.MaxElements, (uint)IdxReader.MaxElements / 20, 0x00FF0000u, 1u << 20),
        from b0 in Bytes
        from b1 in Bytes
        from b2 in Bytes
        from b3 in Bytes
        select (uint)((b0 << 24) | (b1 << 16) | (b2 << 8) | b3));

    public static Arbitrary<IdxRawMutation> RawMutations() =>
        (from dimension in Gen.Choose(-1, 2)
         from size in Sizes
         from kind in Gen.Choose(0, 4)
         from position in Gen.OneOf(Gen.Choose(0, 15), Gen.Choose(0, 10_000)) // the header is 16 of the 76 bytes
         from value in Bytes
         from extra in Gen.ArrayOf(Bytes)
         from seekable in Gen.Elements(false, true)
         select new IdxRawMutation(dimension, size, kind, position, value, extra, seekable))
        .ToArbitrary();

    /// <summary>Random bytes, half of them behind a plausible header start (00 00 08 rank).</summary>
    public static Arbitrary<byte[]> Garbage() =>
        Gen.OneOf(
            Gen.ArrayOf(Bytes),
            from rank in Gen.Choose(0, 6)
            from rest in Gen.ArrayOf(Bytes)
            select (byte[])[0, 0, 8, (byte)rank, .. rest],
            from rest in Gen.ArrayOf(Bytes)
            select (byte[])[0x1f, 0x8b, .. rest])
        .ToArbitrary();
}

public class IdxReaderTests
{
    // The reader must fail before allocating anything large; gzip's own buffers stay well below this.
    internal const long AllocationLimit = 4 << 20;

    private static readonly byte[] Valid = Idx.Build([3, 4, 5], Idx.Ramp(60));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Reads_raw_and_gzip_files(bool gzip)
    {
        using var dir = new TempDirectory();
        byte[] body = Idx.Ramp(3 * 2 * 2);
        byte[] raw = Idx.Build([3, 2, 2], body);
        string path = dir.Write("small-idx3-ubyte" + (gzip ? ".gz" : ""), gzip ? Idx.Gzip(raw) : raw);

        IdxFile file = IdxReader.Read(path);

        Assert.Equal(path, file.Name);
        Assert.Equal(0x08, file.DataType);
        Assert.Equal(3, file.Rank);
        Assert.Equal(0x00000803, file.Magic);
        Assert.Equal([3, 2, 2], file.Dimensions);
        Assert.Equal(body, file.Data.ToArray());
    }

    [Fact]
    public void Detects_gzip_by_magic_bytes_not_by_name()
    {
        using var dir = new TempDirectory();
        byte[] raw = Idx.Build([4], [9, 8, 7, 6]);
        string gzipWithoutExtension = dir.Write("labels-idx1-ubyte", Idx.Gzip(raw));
        string rawWithGzExtension = dir.Write("labels-idx1-ubyte.gz", raw);

        Assert.Equal([9, 8, 7, 6], IdxReader.Read(gzipWithoutExtension).Data.ToArray());
        Assert.Equal([9, 8, 7, 6], IdxReader.Read(rawWithGzExtension).Data.ToArray());
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void Reads_from_streams_seekable_or_not(bool gzip, bool seekable)
    {
        // Large enough that the unchecked path grows its buffer several times.
        byte[] body = Idx.Ramp(300_000);
        byte[] bytes = Idx.Build([300, 1000], body);
        if (gzip)
        {
            bytes = Idx.Gzip(bytes);
        }

        using var memory = new MemoryStream(bytes);
        using Stream stream = seekable ? memory : new UnseekableStream(memory);
        IdxFile file = IdxReader.Read(stream, "stream.idx");

        Assert.Equal("stream.idx", file.Name);
        Assert.Equal([300, 1000], file.Dimensions);
        Assert.Equal(body, file.Data.ToArray());
    }

    [Fact]
    public void A_seekable_gzip_file_with_a_consistent_trailer_is_allocated_once()
    {
        byte[] body = Idx.Ramp(4_000_000);
        byte[] gz = Idx.Gzip(Idx.Build([4000, 1000], body));
        using var stream = new MemoryStream(gz);
        long before = GC.GetAllocatedBytesForCurrentThread();
        IdxFile file = IdxReader.Read(stream, "once.gz");
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(body, file.Data.ToArray());
        Assert.InRange(allocated, body.Length, body.Length + (1 << 20)); // not the 2x of a doubling buffer
    }

    [Fact]
    public void A_tiny_gzip_file_cannot_buy_a_large_allocation_with_its_trailer()
    {
        // The trailer's size field agrees with the header's claim, but 1 KB of deflate cannot expand to 2 GB: the
        // buffer starts small, the stream ends, and zlib then rejects the forged trailer.
        byte[] gz = Idx.Gzip(Idx.Build([46_000, 46_000], Idx.Ramp(1000)));
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(gz.AsSpan(gz.Length - 4), 8 + (46_000u * 46_000u));
        AssertRejected(() => IdxReader.Read(new MemoryStream(gz), "liar.gz"), "liar.gz", "corrupt gzip data", "lying trailer");
    }

    [Fact]
    public void Reads_from_the_stream_position_and_leaves_it_open()
    {
        using var memory = new MemoryStream([0xAA, 0xBB, .. Idx.Build([2], [1, 2])]);
        memory.Position = 2;
        Assert.Equal([1, 2], IdxReader.Read(memory, "offset").Data.ToArray());
        Assert.True(memory.CanRead);
    }

    [Fact]
    public void Accepts_zero_sized_dimensions()
    {
        IdxFile file = IdxReader.Read(new MemoryStream(Idx.Build([0, 28, 28], [])), "empty");
        Assert.Equal([0, 28, 28], file.Dimensions);
        Assert.Equal(0, file.Data.Length);
    }

    public static TheoryData<string, byte[], string> Malformed() => new()
    {
        { "empty", [], "empty: expected an IDX header of at least 4 bytes" },
        { "3 bytes", [0, 0, 8], "truncated header: expected at least 4 bytes, found 3" },
        { "wrong magic", [1, 2, 8, 1, 0, 0, 0, 1, 5], "bad magic number 0x01020801" },
        { "float type", Idx.Build(0x0D, [1], [0, 0, 0, 0]), "unsupported data type 0x0D (32-bit float)" },
        { "signed type", Idx.Build(0x09, [1], [0]), "unsupported data type 0x09 (signed byte)" },
        { "unknown type", Idx.Build(0x42, [1], [0]), "unsupported data type 0x42 (not an IDX type)" },
        { "no dimensions", [0, 0, 8, 0], "no dimensions" },
        { "five dimensions", Idx.Build([1, 1, 1, 1, 1], [7]), "too many dimensions: 5 (at most 4 are supported)" },
        { "truncated dimensions", [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0], "truncated header: expected 16 bytes for 3 dimensions, found 14" },
        { "overflowing dimensions", Idx.Build([65536, 65536, 65536], [1, 2, 3]), "too large: dimensions 65536×65536×65536 hold 281474976710656 elements, more than the limit of 2147483591" },
        { "four huge dimensions", Idx.Build([uint.MaxValue, uint.MaxValue, uint.MaxValue, uint.MaxValue], []), "dimension 0 is 4294967295" },
        { "huge dimension beside zero", Idx.Build([0, 3_000_000_000], []), "dimension 1 is 3000000000, more than the limit of 2147483647" },
        { "just over the limit", Idx.Build([2, 1_073_741_796], []), "too large: dimensions 2×1073741796 hold 2147483592 elements" },
        { "truncated body", Idx.Build([10, 10], Idx.Ramp(37)), "truncated body: expected 100 bytes of data (10×10), found 37" },
        { "trailing bytes", Idx.Build([2], [1, 2, 3, 4, 5]), "trailing data: 3 bytes after the 2-byte body (2)" },
        { "huge claim, tiny file", Idx.Build([46_000, 46_000], Idx.Ramp(1000)), "truncated body: expected 2116000000 bytes of data (46000×46000), found 1000" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_raw_files_throw_InvalidDataException_naming_file_and_problem(string label, byte[] bytes, string problem)
    {
        using var dir = new TempDirectory();
        string path = dir.Write("bad-idx-ubyte", bytes);
        AssertRejected(() => IdxReader.Read(path), path, problem, label);
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_gzip_files_throw_InvalidDataException_naming_file_and_problem(string label, byte[] bytes, string problem)
    {
        using var dir = new TempDirectory();
        string path = dir.Write("bad-idx-ubyte.gz", Idx.Gzip(bytes));
        AssertRejected(() => IdxReader.Read(path), path, problem, label);
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_unseekable_streams_throw_InvalidDataException(string label, byte[] bytes, string problem)
    {
        AssertRejected(() => IdxReader.Read(new UnseekableStream(new MemoryStream(bytes)), "net"), "net", problem, label);
    }

    [Fact]
    public void A_body_larger_than_the_memory_the_process_may_use_is_refused_from_the_header()
    {
        // Nothing bounded the body by memory: a header within MaxElements but beyond what the process could hold died
        // with OutOfMemoryException part-way through the body.
        byte[] raw = Idx.Build([3, 1000], new byte[3000]);
        Check.AvailableMemoryOverride.Value = 2999;
        try
        {
            foreach ((string name, Func<Stream> open) in new (string, Func<Stream>)[]
            {
                ("raw", () => new MemoryStream(raw)),
                ("gz", () => new MemoryStream(Idx.Gzip(raw))),
                ("net.gz", () => new UnseekableStream(new MemoryStream(Idx.Gzip(raw)))),
            })
            {
                var e = Assert.Throws<InsufficientMemoryException>(() => IdxReader.Read(open(), name));
                Assert.StartsWith($"{name}'s body (3×1000 bytes) needs ", e.Message, StringComparison.Ordinal);
                Assert.Contains("this process may use; read it on a machine with more memory", e.Message, StringComparison.Ordinal);
            }

            Check.AvailableMemoryOverride.Value = 3000;
            Assert.Equal(3000, IdxReader.Read(new MemoryStream(raw), "raw").Data.Length);
        }
        finally
        {
            Check.AvailableMemoryOverride.Value = 0;
        }
    }

    [Fact]
    public void Gzip_trailing_data_is_reported_with_its_size()
    {
        byte[] gz = Idx.Gzip(Idx.Build([2], [1, 2, .. new byte[2_000_000]]));
        AssertRejected(() => IdxReader.Read(new MemoryStream(gz), "big.gz"), "big.gz",
            "trailing data: more than 1048576 bytes after the 2-byte body (2)", "large trailer");
    }

    [Fact]
    public void Corrupt_gzip_is_reported_as_InvalidDataException()
    {
        byte[] gz = Idx.Gzip(Valid);
        gz[^6] ^= 0xFF; // inside the CRC-32 trailer
        AssertRejected(() => IdxReader.Read(new MemoryStream(gz), "crc.gz"), "crc.gz", "corrupt gzip data", "bad crc");

        byte[] garbage = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        AssertRejected(() => IdxReader.Read(new MemoryStream(garbage), "garbage.gz"), "garbage.gz", "corrupt gzip data", "garbage");
    }

    [Fact]
    public void Cut_seekable_gzip_files_and_bytes_after_the_data_are_rejected()
    {
        // A cut in the trailer, or bytes after it, loses no data, and was accepted where the CSV reader refused both:
        // from a seekable stream the trailer's size field is checked against the decompressed length.
        byte[] gz = Idx.Gzip(Valid);
        for (int length = 0; length < gz.Length; length++)
        {
            var e = Assert.Throws<InvalidDataException>(() => IdxReader.Read(new MemoryStream(gz[..length]), "cut.gz"));
            Assert.StartsWith("cut.gz: ", e.Message, StringComparison.Ordinal);
            Assert.False(e.Message.StartsWith("cut.gz: corrupt gzip data: cut.gz", StringComparison.Ordinal), e.Message);
        }

        var extra = Assert.Throws<InvalidDataException>(() => IdxReader.Read(new MemoryStream([.. gz, .. "garbage!"u8.ToArray()]), "extra.gz"));
        Assert.Contains("extra.gz: truncated or not a gzip file (it decompressed to", extra.Message, StringComparison.Ordinal);
        Assert.Equal(Valid.AsSpan(16).ToArray(), IdxReader.Read(new MemoryStream(gz), "whole.gz").Data.ToArray());
    }

    [Fact]
    public void Cut_unseekable_gzip_streams_are_rejected_unless_no_data_is_lost()
    {
        // GZipStream reports a cut stream as a normal end, so the exact size checks must catch every cut that loses
        // data. A cut after the last data byte (in the final end-of-block code or the CRC/size trailer) loses none,
        // and GZipStream accepts it from a stream that cannot seek to its trailer: see IdxReader's remarks.
        byte[] gz = Idx.Gzip(Valid);
        int rejected = 0;
        for (int length = 0; length < gz.Length; length++)
        {
            try
            {
                IdxFile file = IdxReader.Read(new UnseekableStream(new MemoryStream(gz[..length])), "cut.gz");
                Assert.Equal(Valid.AsSpan(16).ToArray(), file.Data.ToArray());
                Assert.True(length >= gz.Length - 12, $"a cut to {length} of {gz.Length} bytes was accepted");
            }
            catch (InvalidDataException e)
            {
                Assert.StartsWith("cut.gz: ", e.Message, StringComparison.Ordinal);
                rejected++;
            }
        }

        Assert.True(rejected >= gz.Length - 12);
    }

    [Fact]
    public void Missing_file_is_FileNotFoundException()
    {
        using var dir = new TempDirectory();
        Assert.Throws<FileNotFoundException>(() => IdxReader.Read(Path.Combine(dir.Path, "none.gz")));
    }

    [Property(Arbitrary = [typeof(IdxGenerators)], MaxTest = 500)]
    public void Random_bytes_only_ever_throw_InvalidDataException(byte[] bytes)
    {
        ReadOrReject(bytes, seekable: true);
        ReadOrReject(bytes, seekable: false);
    }

    [Property(Arbitrary = [typeof(IdxGenerators)], MaxTest = 1000)]
    public void Mutated_valid_files_only_ever_throw_InvalidDataException(IdxMutation m)
    {
        byte[] bytes = m.Gzip ? Idx.Gzip(Valid) : [.. Valid];
        int at = m.Position % bytes.Length;
        bytes = m.Kind switch
        {
            0 => Flip(bytes, at, m.Value),
            1 => bytes[..at],
            2 => [.. bytes, .. m.Extra],
            _ => [.. bytes[..at], m.Value, .. bytes[at..]],
        };
        ReadOrReject(bytes, m.Seekable);
    }

    [Property(Arbitrary = [typeof(IdxGenerators)], MaxTest = 1000)]
    public void Lying_headers_behind_a_valid_gzip_layer_only_ever_throw_InvalidDataException_and_agree_with_the_raw_file(IdxRawMutation m)
    {
        // The mutations above damage the gzip stream itself, which its CRC mostly catches. Here the IDX bytes are
        // changed first (a dimension's count included) and then compressed: the gzip layer is intact, and only the
        // header's claims stand between the reader and an allocation of the declared size.
        byte[] raw = [.. Valid];
        if (m.Dimension >= 0)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(raw.AsSpan(4 + (4 * m.Dimension)), m.Size);
        }

        int at = m.Position % raw.Length;
        raw = m.Kind switch
        {
            0 => Flip(raw, at, m.Value),
            1 => raw[..at],
            2 => [.. raw, .. m.Extra],
            3 => [.. raw[..at], m.Value, .. raw[at..]],
            _ => raw,
        };

        // The machine's memory must not decide the outcome: a declared body of up to 2 GiB is then refused by what
        // arrives, not by Check.FitsInMemory (which throws InsufficientMemoryException on a small machine).
        Check.AvailableMemoryOverride.Value = 1L << 40;
        try
        {
            IdxFile? plain = ReadOrReject(raw, seekable: true);
            IdxFile? compressed = ReadOrReject(Idx.Gzip(raw), m.Seekable);
            // The decompressed bytes are the raw file's, so both readings must agree.
            Assert.Equal(plain is null, compressed is null);
            if (plain is not null)
            {
                Assert.Equal(plain.Dimensions, compressed!.Dimensions);
                Assert.Equal(plain.Data.ToArray(), compressed.Data.ToArray());
            }
        }
        finally
        {
            Check.AvailableMemoryOverride.Value = 0;
        }
    }

    private static byte[] Flip(byte[] bytes, int at, byte value)
    {
        bytes[at] = value == bytes[at] ? (byte)~value : value;
        return bytes;
    }

    // The file read, or null when it was refused with an InvalidDataException; any other exception fails the test.
    private static IdxFile? ReadOrReject(byte[] bytes, bool seekable)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        IdxFile? file = null;
        try
        {
            Stream stream = new MemoryStream(bytes);
            file = IdxReader.Read(seekable ? stream : new UnseekableStream(stream), "fuzz");
            Assert.Equal(file.Dimensions.Aggregate(1L, (p, d) => p * d), file.Data.Length);
        }
        catch (InvalidDataException e)
        {
            Assert.StartsWith("fuzz: ", e.Message, StringComparison.Ordinal);
        }

        Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - before, 0, AllocationLimit);
        return file;
    }

    private static void AssertRejected(Func<IdxFile> read, string name, string problem, string label)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => read());
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.StartsWith(name + ": ", e.Message, StringComparison.Ordinal);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
        Assert.True(allocated < AllocationLimit, $"{label}: allocated {allocated} bytes before failing");
    }
}
