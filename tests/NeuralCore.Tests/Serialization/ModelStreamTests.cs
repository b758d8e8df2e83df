using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Serialization;
using NeuralCore.Tests.Training;
using NeuralCore.Training;

namespace NeuralCore.Tests.Serialization;

/// <summary><see cref="ModelFile.WriteTo"/> and <see cref="ModelFile.ReadFrom"/>: a model file's bytes through a stream.</summary>
public sealed class ModelStreamTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("neuralcore-streams-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Sequential Trained(ulong seed)
    {
        var (x, y) = FitTests.Blobs(200, 1);
        var model = new Sequential(2, seed).Add(new Dense(8)).Add(new BatchNormalization()).Add(new Relu()).Add(new Dense(4));
        model.Compile(new SoftmaxCrossEntropy(), new Adam(0.01f));
        model.Fit(x, y, new FitOptions { Epochs = 2, BatchSize = 32 });
        return model;
    }

    [Fact]
    public void A_stream_gets_a_files_bytes_and_gives_back_models_one_after_another()
    {
        Sequential first = Trained(5), second = Trained(6);
        string path = Path.Combine(_dir, "first.ncm");
        ModelFile.Save(first, path);

        using var stream = new MemoryStream();
        ModelFile.WriteTo(first, stream);
        Assert.Equal(File.ReadAllBytes(path), stream.ToArray());
        long end = stream.Position;
        ModelFile.WriteTo(second, stream, includeOptimizer: false);

        stream.Position = 0;
        Sequential a = ModelFile.ReadFrom(stream);
        Assert.Equal(end, stream.Position);
        Sequential b = ModelFile.ReadFrom(stream, "archive entry");
        Assert.Equal(stream.Length, stream.Position);

        float[] x = [0.5f, -1f, 2f, 0.25f];
        Assert.Equal(first.Predict(x, 2), a.Predict(x, 2));
        Assert.Equal(second.Predict(x, 2), b.Predict(x, 2));
        Assert.Equal(((Optimizer)first.Optimizer!).State.ToArray(), ((Optimizer)a.Optimizer!).State.ToArray());
        Assert.Equal(0, ((Optimizer)b.Optimizer!).Iterations);
    }

    [Fact]
    public void A_short_a_foreign_or_an_oversized_stream_is_refused_by_name()
    {
        using var whole = new MemoryStream();
        ModelFile.WriteTo(Trained(5), whole);
        byte[] bytes = whole.ToArray();

        var shortBody = Assert.Throws<InvalidDataException>(() => ModelFile.ReadFrom(new MemoryStream(bytes[..^10]), "upload"));
        Assert.StartsWith("upload: truncated: the header announces", shortBody.Message, StringComparison.Ordinal);
        Assert.EndsWith("the stream ends 10 bytes short.", shortBody.Message, StringComparison.Ordinal);
        var shortHeader = Assert.Throws<InvalidDataException>(() => ModelFile.ReadFrom(new MemoryStream(bytes[..12])));
        Assert.Contains("within the header", shortHeader.Message, StringComparison.Ordinal);
        var foreign = Assert.Throws<InvalidDataException>(() => ModelFile.ReadFrom(new MemoryStream("PK\u0003\u0004 not a model"u8.ToArray())));
        Assert.Contains("magic number is missing", foreign.Message, StringComparison.Ordinal);

        // A header announcing 2^40 bytes, then a stream that never ends: refused from the header, before any body read.
        byte[] header = bytes[..20];
        BitConverter.TryWriteBytes(header.AsSpan(12), 1UL << 40);
        var endless = new EndlessStream(header);
        var huge = Assert.Throws<InvalidDataException>(() => ModelFile.ReadFrom(endless));
        Assert.Contains("more than the 1073741824-byte limit", huge.Message, StringComparison.Ordinal);
        Assert.Equal(20, endless.Position);

        byte[] corrupt = (byte[])bytes.Clone();
        corrupt[40] ^= 1;
        Assert.Contains("checksum mismatch", Assert.Throws<InvalidDataException>(() => ModelFile.ReadFrom(new MemoryStream(corrupt))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_model_that_cannot_be_stored_writes_nothing_and_a_closed_stream_is_refused()
    {
        Sequential model = Trained(5);
        model.Parameters.Span[3] = float.NaN;
        using var stream = new MemoryStream();
        Assert.Throws<ArgumentException>(() => ModelFile.WriteTo(model, stream));
        Assert.Equal(0, stream.Length);

        Assert.Equal("stream", Assert.Throws<ArgumentException>(() => ModelFile.WriteTo(Trained(5), new MemoryStream([], writable: false))).ParamName);
        var closed = new MemoryStream();
        closed.Dispose();
        Assert.Equal("stream", Assert.Throws<ArgumentException>(() => ModelFile.ReadFrom(closed)).ParamName);
    }

    [Fact]
    public void A_truncated_stream_whose_header_announces_a_large_body_is_refused_without_allocating_that_body()
    {
        // A 20-byte stream (a cut upload, a corrupt database row) whose header announces a body just under the limit:
        // ReadFrom allocates the whole announced file (1 GiB) before it reads a byte of the body, then finds the stream
        // empty. Reading in bounded chunks as bytes arrive would refuse it having allocated what the stream held.
        using var whole = new MemoryStream();
        ModelFile.WriteTo(Trained(5), whole);
        byte[] header = whole.ToArray()[..20];
        BitConverter.TryWriteBytes(header.AsSpan(12), (ulong)(ModelFile.MaxFileBytes - 20 - 32));

        long before = GC.GetAllocatedBytesForCurrentThread();
        var truncated = Assert.Throws<InvalidDataException>(() => ModelFile.ReadFrom(new MemoryStream(header), "upload"));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains("truncated", truncated.Message, StringComparison.Ordinal);
        Assert.True(allocated < (64L << 20), $"ReadFrom allocated {allocated} bytes for a 20-byte stream");
    }

    // A header, then zeros for ever.
    private sealed class EndlessStream(byte[] header) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get; set; }

        public override int Read(byte[] buffer, int offset, int count)
        {
            for (int i = 0; i < count; i++)
            {
                buffer[offset + i] = Position < header.Length ? header[Position] : (byte)0;
                Position++;
            }

            return count;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
