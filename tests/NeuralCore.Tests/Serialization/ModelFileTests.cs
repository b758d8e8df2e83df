using System.Buffers.Binary;
using System.Security.Cryptography;
using FsCheck.Xunit;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Serialization;
using NeuralCore.Tests.Training;
using NeuralCore.Training;

namespace NeuralCore.Tests.Serialization;

public sealed class ModelFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("neuralcore-model-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Sequential Trained(out float[] x, out int[] y)
    {
        (x, y) = FitTests.Blobs(200, 1);
        var model = new Sequential(2, 5).Add(new Dense(8)).Add(new Relu()).Add(new Dropout(0.1f)).Add(new Dense(4)).Add(new Softmax());
        model.Compile(new MeanSquaredError(), new Adam(0.01f));
        model.Fit(x, y, new FitOptions { Epochs = 2 });
        return model;
    }

    private static byte[] ValidBytes()
    {
        Sequential model = Trained(out _, out _);
        string path = Path.Combine(Path.GetTempPath(), $"nc-{Guid.NewGuid():N}.ncm");
        try
        {
            ModelFile.Save(model, path);
            return File.ReadAllBytes(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static readonly Lazy<byte[]> Valid = new(ValidBytes);

    [Fact]
    public void Round_trip_gives_bitwise_identical_predictions_and_architecture()
    {
        Sequential model = Trained(out float[] x, out _);
        string path = Path.Combine(_dir, "model.ncm");
        ModelFile.Save(model, path);
        Sequential loaded = ModelFile.Load(path);

        Assert.Equal(model.Summary(), loaded.Summary());
        Assert.Equal(model.Parameters.ToArray(), loaded.Parameters.ToArray());
        float[] expected = new float[200 * 4], actual = new float[200 * 4];
        model.Predict(x, expected, 200);
        loaded.Predict(x, actual, 200);
        Assert.True(expected.AsSpan().SequenceEqual(actual));
        Assert.IsType<MeanSquaredError>(loaded.Loss);
        Assert.Equal(0.01f, Assert.IsType<Adam>(loaded.Optimizer).Options.LearningRate);
    }

    [Fact]
    public void A_scheduled_learning_rate_is_saved_as_it_stands()
    {
        Sequential model = Trained(out _, out _);
        model.Optimizer!.LearningRate = 0.00123f;
        string path = Path.Combine(_dir, "scheduled.ncm");
        ModelFile.Save(model, path);
        Assert.Equal(0.00123f, ModelFile.Load(path).Optimizer!.LearningRate);

        // A cosine decay ends at exactly 0.
        model.Optimizer.LearningRate = 0f;
        ModelFile.Save(model, path);
        Assert.Equal(0f, ModelFile.Load(path).Optimizer!.LearningRate);
    }

    [Fact]
    public void Resuming_from_a_saved_optimizer_state_matches_uninterrupted_training_bitwise()
    {
        var (x, y) = FitTests.Blobs(128, 2);
        Sequential Make() => new Sequential(2, 9).Add(new Dense(8)).Add(new Relu()).Add(new Dense(4));

        Sequential straight = Make();
        straight.Compile(new SoftmaxCrossEntropy(), new Adam());
        for (int i = 0; i < 6; i++)
        {
            straight.TrainStep(x, y, 128);
        }

        Sequential first = Make();
        first.Compile(new SoftmaxCrossEntropy(), new Adam());
        for (int i = 0; i < 3; i++)
        {
            first.TrainStep(x, y, 128);
        }

        string path = Path.Combine(_dir, "checkpoint.ncm");
        ModelFile.Save(first, path);
        Sequential resumed = ModelFile.Load(path);
        Assert.Equal(3, resumed.Optimizer!.Iterations);
        for (int i = 0; i < 3; i++)
        {
            resumed.TrainStep(x, y, 128);
        }

        Assert.Equal(straight.Parameters.ToArray(), resumed.Parameters.ToArray());
    }

    [Fact]
    public void Weights_only_files_load_uncompiled()
    {
        Sequential model = Trained(out _, out _);
        string path = Path.Combine(_dir, "weights.ncm");
        ModelFile.Save(model, path, includeOptimizer: false);
        Sequential loaded = ModelFile.Load(path);
        Assert.False(loaded.IsCompiled);
        Assert.Equal(model.Layers.Select(l => l.Parameters.ToArray()).SelectMany(p => p), loaded.Layers.SelectMany(l => l.Parameters.ToArray()));
    }

    [Fact]
    public void A_failed_save_leaves_the_previous_file_and_no_temporary_file()
    {
        Sequential model = Trained(out _, out _);
        string path = Path.Combine(_dir, "keep.ncm");
        ModelFile.Save(model, path);
        byte[] before = File.ReadAllBytes(path);

        var unsupported = new Sequential(2).Add(new CustomLayer());
        Assert.Throws<NotSupportedException>(() => ModelFile.Save(unsupported, path));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(["keep.ncm"], Directory.GetFiles(_dir).Select(Path.GetFileName));

        // The target is a directory: the rename fails after the temporary file was written; it must be cleaned up.
        string blocked = Path.Combine(_dir, "blocked.ncm");
        Directory.CreateDirectory(blocked);
        Assert.ThrowsAny<IOException>(() => ModelFile.Save(model, blocked));
        Assert.Equal(["keep.ncm"], Directory.GetFiles(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public void Corrupt_truncated_foreign_and_future_files_are_named()
    {
        byte[] valid = Valid.Value;
        string Load(byte[] bytes)
        {
            string path = Path.Combine(_dir, "bad.ncm");
            File.WriteAllBytes(path, bytes);
            return Assert.Throws<InvalidDataException>(() => ModelFile.Load(path)).Message;
        }

        byte[] flipped = (byte[])valid.Clone();
        flipped[valid.Length / 2] ^= 0x40;
        Assert.Contains("bad.ncm: checksum mismatch", Load(flipped), StringComparison.Ordinal);
        Assert.Contains("truncated", Load(valid[..(valid.Length - 10)]), StringComparison.Ordinal);
        Assert.Contains("truncated", Load(valid[..12]), StringComparison.Ordinal);
        Assert.Contains("not a NeuralCore model file", Load([0x89, (byte)'P', (byte)'N', (byte)'G', 13, 10, 26, 10, 0, 0]), StringComparison.Ordinal);
        Assert.Contains("not a NeuralCore model file", Load([]), StringComparison.Ordinal);

        byte[] future = (byte[])valid.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(future.AsSpan(8), 2);
        Assert.Contains("version 2 is not supported", Load(future), StringComparison.Ordinal);

        Assert.Throws<FileNotFoundException>(() => ModelFile.Load(Path.Combine(_dir, "missing.ncm")));
    }

    [Fact]
    public void Inconsistent_bodies_with_valid_checksums_are_rejected()
    {
        // Rewrite the input size (first field after the model name and seed) to 3: the stored Dense weights no longer
        // fit the architecture, which the loader must report rather than misread.
        byte[] valid = Valid.Value;
        byte[] changed = (byte[])valid.Clone();
        int nameLength = changed[20];
        int inputOffset = 20 + 1 + nameLength + 8;
        BinaryPrimitives.WriteInt32LittleEndian(changed.AsSpan(inputOffset), 3);
        SHA256.HashData(changed.AsSpan(0, changed.Length - 32), changed.AsSpan(changed.Length - 32));
        var ex = Assert.Throws<InvalidDataException>(() => ModelFile.Read(changed, "edited.ncm"));
        Assert.Contains("edited.ncm", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_string_length_prefix_that_overflows_is_invalid_data()
    {
        // Body: a model name whose 7-bit length prefix decodes to a negative number, behind a valid checksum.
        byte[] body = [0x80, 0x80, 0x80, 0x80, 0x08];
        byte[] file = new byte[20 + body.Length + 32];
        "NCMODEL\0"u8.CopyTo(file);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(8), 1);
        BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(12), (ulong)body.Length);
        body.CopyTo(file, 20);
        SHA256.HashData(file.AsSpan(0, file.Length - 32), file.AsSpan(file.Length - 32));
        var ex = Assert.Throws<InvalidDataException>(() => ModelFile.Read(file, "overflow.ncm"));
        Assert.Contains("overflow.ncm", ex.Message, StringComparison.Ordinal);
    }

    [Property(MaxTest = 200)]
    public void Mutated_files_only_ever_raise_invalid_data(int[] positions, byte value, bool fixChecksum, int truncateTo)
    {
        byte[] bytes = (byte[])Valid.Value.Clone();
        foreach (int p in positions ?? [])
        {
            bytes[Math.Abs(p % bytes.Length)] = value;
        }

        if (fixChecksum)
        {
            SHA256.HashData(bytes.AsSpan(0, bytes.Length - 32), bytes.AsSpan(bytes.Length - 32));
        }

        if (truncateTo > 0 && truncateTo < bytes.Length)
        {
            bytes = bytes[..truncateTo];
        }

        try
        {
            ModelFile.Read(bytes, "mutated.ncm");
        }
        catch (InvalidDataException)
        {
        }
    }

    [Property(MaxTest = 100)]
    public void Random_bytes_only_ever_raise_invalid_data(byte[] bytes, bool withMagic)
    {
        bytes ??= [];
        if (withMagic && bytes.Length >= 8)
        {
            "NCMODEL\0"u8.CopyTo(bytes);
        }

        Assert.Throws<InvalidDataException>(() => ModelFile.Read(bytes, "random.ncm"));
    }

    private sealed class CustomLayer : Layer
    {
        public CustomLayer()
            : base("custom")
        {
        }

        public override string DefaultName => "custom";

        protected override int OnBuild(int inputSize) => inputSize;

        protected override void OnForward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training) => input.CopyTo(output);

        protected override void OnBackward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch) => outputGrad.CopyTo(inputGrad);
    }
}
