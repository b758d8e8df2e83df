using System.Buffers.Binary;
using System.Security.Cryptography;
using FsCheck.Xunit;
using NeuralCore.Configuration;
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

    private static byte[] ValidBytes() => SavedBytes(Trained(out _, out _));

    // The bytes ModelFile.Save writes for the model.
    private static byte[] SavedBytes(Sequential model)
    {
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
    public void Every_built_in_layer_and_its_options_round_trip()
    {
        Sequential model = EveryLayer();

        // One step, so that the batch normalization's running statistics are not their starting values.
        model.TrainStep(Seeded.Uniform(4 * 6, 5, 2f), LossTargets.FromValues(new float[4 * 3]), 4);
        string path = Path.Combine(_dir, "layers.ncm");
        ModelFile.Save(model, path);
        Sequential loaded = ModelFile.Load(path);

        Assert.Equal(model.Summary(), loaded.Summary());
        for (int i = 0; i < model.Layers.Count; i++)
        {
            var expected = new ComponentConfig(model.Layers[i].TypeId);
            var actual = new ComponentConfig(loaded.Layers[i].TypeId);
            model.Layers[i].WriteConfig(expected);
            loaded.Layers[i].WriteConfig(actual);
            Assert.Equal(expected.ToString(), actual.ToString());
            if (model.Layers[i] is Layer own)
            {
                // And the state: statistics, noise generators.
                var expectedState = new ComponentConfig(own.TypeId);
                var actualState = new ComponentConfig(own.TypeId);
                own.WriteState(expectedState);
                ((Layer)loaded.Layers[i]).WriteState(actualState);
                Assert.Equal(expectedState.ToString(), actualState.ToString());
            }
        }

        float[] x = Seeded.Uniform(5 * 6, 3, 2f);
        float[] before = new float[5 * 3], after = new float[5 * 3];
        model.Infer(x, before, 5);
        loaded.Infer(x, after, 5);
        Assert.Equal(before, after);
        var saved = model.Layers.OfType<BatchNormalization>().Single();
        var read = loaded.Layers.OfType<BatchNormalization>().Single();
        Assert.NotEqual(new float[8], saved.MovingMean.ToArray());
        Assert.Equal(saved.MovingMean.ToArray(), read.MovingMean.ToArray());
        Assert.Equal(saved.MovingVariance.ToArray(), read.MovingVariance.ToArray());
    }

    // Every built-in layer type, with options away from their defaults.
    private static Sequential EveryLayer()
    {
        var model = new Sequential(6, seed: 9)
            .Add(new Normalization([0.5f, -1f, 2f, 0f, 3f, 1f], [4f, 0.25f, 1f, 9f, 2f, 0.5f], name: "inputs"))
            .Add(new Dense(12, Activation.Tanh, useBias: false) { KernelConstraint = Constraint.MaxNorm(3f, axis: 1) }).Add(new Relu { MaxValue = 1.5f, NegativeSlope = 0.1f, Threshold = 0.2f })
            .Add(new Dense(10, Activation.Sigmoid)).Add(new LeakyRelu(0.05f)).Add(new PRelu(0.2f)).Add(new Gelu(approximate: true))
            .Add(new Dense(8, Activation.Relu)).Add(new Gelu()).Add(new PRelu(-0.1f, sharedAlpha: true)).Add(new Tanh()).Add(new Sigmoid())
            .Add(new Elu(0.7f)).Add(new Selu()).Add(new AlphaDropout(0.1f)).Add(new Silu()).Add(new Softplus()).Add(new Softsign()).Add(new Mish()).Add(new HardSilu()).Add(new HardSigmoid()).Add(new BatchNormalization(0.9f, 0.01f))
            .Add(new GaussianNoise(0.2f)).Add(new LayerNormalization(0.01f, center: false)).Add(new GaussianDropout(0.3f)).Add(new Dropout(0.2f))
            .Add(new Dense(3, Activation.Softmax) { KernelConstraint = Constraint.MinMaxNorm(0.5f, 2f, 0.25f), BiasConstraint = Constraint.NonNeg() });
        model.Compile(new MeanSquaredError(), new Adam());
        return model;
    }

    private static readonly Lazy<byte[]> EveryLayerBytes = new(() =>
    {
        Sequential model = EveryLayer();
        model.TrainStep(Seeded.Uniform(4 * 6, 5, 2f), LossTargets.FromValues(new float[4 * 3]), 4);
        return SavedBytes(model);
    });

    [Property(MaxTest = 200)]
    public void Mutated_files_of_every_layer_type_only_ever_raise_invalid_data(int[] positions, byte value, bool fixChecksum)
    {
        // Every layer's config and state readers (statistics, generators, options) meet damaged bytes behind a valid checksum.
        byte[] bytes = (byte[])EveryLayerBytes.Value.Clone();
        foreach (int p in positions ?? [])
        {
            bytes[Math.Abs(p % bytes.Length)] = value;
        }

        if (fixChecksum)
        {
            SHA256.HashData(bytes.AsSpan(0, bytes.Length - 32), bytes.AsSpan(bytes.Length - 32));
        }

        try
        {
            ModelFile.Read(bytes, "mutated.ncm");
        }
        catch (InvalidDataException)
        {
        }
    }

    [Fact]
    public void The_loss_settings_and_metrics_are_saved_with_the_model()
    {
        var model = new Sequential(3, seed: 2).Add(new Dense(4)).Add(new Dense(1, Activation.Sigmoid));
        model.Compile(new BinaryCrossentropy(labelSmoothing: 0.1f, reduction: Reduction.Sum), new RmsProp(0.01f), metrics: ["accuracy", "mse"]);
        string path = Path.Combine(_dir, "binary.ncm");
        ModelFile.Save(model, path);
        Sequential loaded = ModelFile.Load(path);
        var loss = Assert.IsType<BinaryCrossentropy>(loaded.Loss);
        Assert.Equal(0.1f, loss.LabelSmoothing);
        Assert.Equal(Reduction.Sum, loss.Reduction);
        Assert.False(loss.FromLogits);
        Assert.Equal(["accuracy", "mse"], loaded.Metrics);

        model.Compile(new MeanSquaredError(), new Sgd());
        ModelFile.Save(model, path);
        Assert.Null(ModelFile.Load(path).Metrics);
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
    public void Files_without_the_optimizers_state_load_compiled_with_a_fresh_optimizer_and_predict_the_same()
    {
        // Before version 3 such a file held no loss either: the loaded model was not compiled, so its Predict returned
        // logits where the saved model's returned probabilities (its from-logits loss applies the softmax).
        (float[] x, int[] y) = FitTests.Blobs(200, 1);
        var model = new Sequential(2, 5).Add(new Dense(8)).Add(new Relu()).Add(new Dense(4));
        model.Compile(new SoftmaxCrossEntropy(), new Adam(0.01f));
        model.Fit(x, y, new FitOptions { Epochs = 2 });
        string path = Path.Combine(_dir, "weights.ncm");
        ModelFile.Save(model, path, includeOptimizer: false);
        Sequential loaded = ModelFile.Load(path);
        Assert.True(loaded.IsCompiled);
        Assert.Equal(model.Layers.Select(l => l.Parameters.ToArray()).SelectMany(p => p), loaded.Layers.SelectMany(l => l.Parameters.ToArray()));
        float[] expected = model.Predict(x.AsSpan(0, 2));
        Assert.Equal(1f, expected.Sum(), 1e-5f);
        Assert.Equal(expected, loaded.Predict(x.AsSpan(0, 2)));
        var adam = Assert.IsType<Adam>(loaded.Optimizer);
        Assert.Equal((model.Optimizer!.LearningRate, 0L), (adam.LearningRate, adam.Iterations));
        Assert.All(adam.State.ToArray(), v => Assert.Equal(0f, v));
        Assert.True(new FileInfo(path).Length < ModelFile.EstimatedBytes(model), "the state is left out");

        // An uncompiled model still saves and loads uncompiled.
        var plain = new Sequential(4).Add(new Dense(3));
        ModelFile.Save(plain, path);
        Assert.False(ModelFile.Load(path).IsCompiled);
    }

    [Fact]
    public void Version_2_files_still_load_and_may_not_use_the_third_kind()
    {
        // Version 3 changed only the meaning of the training flag's byte (2: the config without the state).
        Sequential model = Trained(out float[] x, out _);
        string path = Path.Combine(_dir, "v3.ncm");
        ModelFile.Save(model, path);
        byte[] file = WithVersion(File.ReadAllBytes(path), 2);
        Sequential loaded = ModelFile.Read(file, "v2.ncm");
        Assert.Equal(model.Optimizer!.State.ToArray(), loaded.Optimizer!.State.ToArray());
        Assert.Equal(model.Predict(x.AsSpan(0, 2)), loaded.Predict(x.AsSpan(0, 2)));

        ModelFile.Save(model, path, includeOptimizer: false);
        var ex = Assert.Throws<InvalidDataException>(() => ModelFile.Read(WithVersion(File.ReadAllBytes(path), 2), "v2.ncm"));
        Assert.Contains("the training config's kind 2 is not in 0..1", ex.Message, StringComparison.Ordinal);
    }

    private static byte[] WithVersion(byte[] file, uint version)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(8), version);
        SHA256.HashData(file.AsSpan(0, file.Length - 32), file.AsSpan(file.Length - 32));
        return file;
    }

    [Fact]
    public void A_model_too_large_for_a_file_is_refused_before_anything_is_written()
    {
        // An optimizer whose state claims 300 M floats (1.2 GB; Load refuses files over 1 GiB) without holding them:
        // the size is checked before any byte is written or read. Before, such a save wrote a file Load refused, and
        // beyond 2 GiB failed with "Stream was too long".
        var model = new Sequential(784).Add(new Dense(10));
        model.Compile(new MeanSquaredError(), new UnregisteredSgd(stateLength: 300_000_000));
        Assert.Equal(20 + 32 + (4 * (7_850 + 300_000_000L)), ModelFile.EstimatedBytes(model));
        Assert.True(ModelFile.EstimatedBytes(model, includeOptimizer: false) < 40_000);
        string path = Path.Combine(_dir, "huge.ncm");
        var ex = Assert.Throws<NotSupportedException>(() => ModelFile.Save(model, path));
        Assert.Contains("huge.ncm: the model needs 1,200,031,452 bytes, more than the 1,073,741,824", ex.Message, StringComparison.Ordinal);
        Assert.Contains("includeOptimizer: false", ex.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public void Loading_without_compiling_gives_the_architecture_and_weights_for_a_new_head_or_an_unknown_optimizer()
    {
        // Keras's load_model(compile=False). Since version 3 keeps the compile config without the state, this is how
        // to read a file whose optimizer this process has not registered, or to add layers to a saved body.
        var model = new Sequential(4, seed: 3).Add(new Dense(5)).Add(new Relu()).Add(new Dense(3));
        model.Compile(new SoftmaxCrossEntropy(), new UnregisteredSgd(stateLength: 0));
        string path = Path.Combine(_dir, "custom.ncm");
        foreach (bool state in new[] { true, false })
        {
            ModelFile.Save(model, path, includeOptimizer: state);
            var ex = Assert.Throws<InvalidDataException>(() => ModelFile.Load(path));
            Assert.Contains("unregistered_sgd", ex.Message, StringComparison.Ordinal);
            Assert.Contains("ModelFile.Load(path, compile: false)", ex.Message, StringComparison.Ordinal);
            Sequential body = ModelFile.Load(path, compile: false);
            Assert.False(body.IsCompiled);
            Assert.Equal(model.Parameters.ToArray(), body.Layers.SelectMany(l => l.Parameters.ToArray()));
            body.Add(new Relu()).Add(new Dense(2));
            body.Compile(new SoftmaxCrossEntropy(), new Adam());
            Assert.Equal(2, body.Predict(new float[4]).Length);
        }

        // A file with Adam's state, read without it: the state is passed over, its bounds checked.
        Sequential trained = Trained(out _, out _);
        ModelFile.Save(trained, path);
        Sequential weights = ModelFile.Load(path, compile: false);
        Assert.False(weights.IsCompiled);
        Assert.Equal(trained.Parameters.ToArray(), weights.Layers.SelectMany(l => l.Parameters.ToArray()));
    }

    /// <summary>
    /// Plain SGD under a type id no factory knows; its state can claim a length it does not hold (a memory manager
    /// whose span is never taken), so that a size check can be tested without allocating gigabytes.
    /// </summary>
    internal sealed class UnregisteredSgd(int stateLength = 0) : IOptimizer
    {
        public string Name => "unregistered_sgd";

        public long Iterations { get; private set; }

        public float LearningRate { get; set; } = 0.01f;

        public Memory<float> State { get; } = stateLength == 0 ? Memory<float>.Empty : new Unbacked(stateLength).Memory;

        public void WriteConfig(ComponentConfig config) => config.Set("learning_rate", LearningRate);

        public void Initialize(int parameterCount) => Iterations = 0;

        public void SetIterations(long iterations) => Iterations = iterations;

        public void Update(Span<float> parameters, ReadOnlySpan<float> gradients)
        {
            for (int i = 0; i < parameters.Length; i++)
            {
                parameters[i] -= LearningRate * gradients[i];
            }

            Iterations++;
        }

        private sealed class Unbacked(int length) : System.Buffers.MemoryManager<float>
        {
            public override Span<float> GetSpan() => throw new InvalidOperationException("this state is a length only");

            public override System.Buffers.MemoryHandle Pin(int elementIndex = 0) => throw new InvalidOperationException("this state is a length only");

            public override void Unpin()
            {
            }

            protected override void Dispose(bool disposing)
            {
            }

            public override Memory<float> Memory => CreateMemory(length);
        }
    }

    [Fact]
    public void A_failed_save_leaves_the_previous_file_and_no_temporary_file()
    {
        Sequential model = Trained(out _, out _);
        string path = Path.Combine(_dir, "keep.ncm");
        ModelFile.Save(model, path);
        byte[] before = File.ReadAllBytes(path);

        var unsupported = new Sequential(2).Add(new CustomLayer { Unsavable = true });
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
        BinaryPrimitives.WriteUInt32LittleEndian(future.AsSpan(8), 4);
        Assert.Contains("version 4 is not supported", Load(future), StringComparison.Ordinal);

        Assert.Throws<FileNotFoundException>(() => ModelFile.Load(Path.Combine(_dir, "missing.ncm")));
    }

    /// <summary>A version-1 file, laid out as the version-1 writer did (docs/model-format.md keeps its table).</summary>
    private static byte[] Version1File(float[] dense0, float[] dense1, bool withOptimizer)
    {
        using var body = new MemoryStream();
        using (var w = new BinaryWriter(body, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            w.Write("old");
            w.Write(7UL);
            w.Write(2);
            w.Write(4);
            void Layer(string tag, string name, int outputs, float rate, float[] parameters)
            {
                w.Write(tag);
                w.Write(name);
                w.Write(outputs);
                w.Write(rate);
                w.Write(parameters.Length);
                foreach (float v in parameters)
                {
                    w.Write(v);
                }
            }

            Layer("Dense", "dense", 3, 0f, dense0);
            Layer("ReLU", "re_lu", 3, 0f, []);
            Layer("Dropout", "dropout", 3, 0.25f, []);
            Layer("Dense", "dense_1", 2, 0f, dense1);
            w.Write(withOptimizer);
            if (withOptimizer)
            {
                w.Write("categorical_crossentropy");
                w.Write("adam");
                w.Write(0.002f);
                w.Write(0.9f);
                w.Write(0.99f);
                w.Write(1e-7f);
                w.Write(3L);
                int count = 2 * (dense0.Length + dense1.Length);
                w.Write(count);
                for (int i = 0; i < count; i++)
                {
                    w.Write(i * 0.001f);
                }
            }
        }

        byte[] bodyBytes = body.ToArray();
        byte[] file = new byte[20 + bodyBytes.Length + 32];
        "NCMODEL\0"u8.CopyTo(file);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(8), 1);
        BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(12), (ulong)bodyBytes.Length);
        bodyBytes.CopyTo(file, 20);
        SHA256.HashData(file.AsSpan(0, file.Length - 32), file.AsSpan(file.Length - 32));
        return file;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Version_1_files_still_load(bool withOptimizer)
    {
        float[] dense0 = Seeded.Uniform((2 * 3) + 3, 1);
        float[] dense1 = Seeded.Uniform((3 * 2) + 2, 2);
        Sequential loaded = ModelFile.Read(Version1File(dense0, dense1, withOptimizer), "old.ncm");

        Assert.Equal("old", loaded.Name);
        Assert.Equal(["Dense", "ReLU", "Dropout", "Dense"], loaded.Layers.Select(l => l.TypeId));
        Assert.Equal(0.25f, Assert.IsType<Dropout>(loaded.Layers[2]).Rate);
        Assert.Equal([.. dense0, .. dense1], loaded.Layers.SelectMany(l => l.Parameters.ToArray()));
        Assert.Equal(withOptimizer, loaded.IsCompiled);
        if (withOptimizer)
        {
            var adam = Assert.IsType<Adam>(loaded.Optimizer);
            Assert.Equal((0.002f, 0.99f, 3L), (adam.LearningRate, adam.Options.Beta2, adam.Iterations));
            Assert.Equal(0.001f, adam.State.Span[1]);
        }

        // Saved again, it is a version-3 file that loads to the same model.
        string path = Path.Combine(_dir, "upgraded.ncm");
        ModelFile.Save(loaded, path);
        Assert.Equal(3u, BinaryPrimitives.ReadUInt32LittleEndian(File.ReadAllBytes(path).AsSpan(8)));
        Assert.Equal(loaded.Summary(), ModelFile.Load(path).Summary());
    }

    [Fact]
    public void A_model_with_dropout_saved_between_fit_calls_resumes_bitwise()
    {
        var (x, y) = FitTests.Blobs(96, 4);
        Sequential Make()
        {
            var m = new Sequential(2, 21).Add(new Dense(16)).Add(new Relu()).Add(new Dropout(0.3f)).Add(new Dense(4));
            m.Compile(new SoftmaxCrossEntropy(), new Adam(0.01f));
            return m;
        }

        Sequential straight = Make();
        straight.Fit(x, y, new FitOptions { Epochs = 3, BatchSize = 16 });

        Sequential first = Make();
        first.Fit(x, y, new FitOptions { Epochs = 1, BatchSize = 16 });
        string path = Path.Combine(_dir, "resume.ncm");
        ModelFile.Save(first, path);
        Sequential resumed = ModelFile.Load(path);
        Assert.Equal(1, resumed.EpochsTrained);
        History rest = resumed.Fit(x, y, new FitOptions { Epochs = 3, InitialEpoch = 1, BatchSize = 16 });

        Assert.Equal([2, 3], rest.Epochs.Select(e => e.Epoch));
        Assert.Equal(3, resumed.EpochsTrained);
        Assert.True(straight.Parameters.Span.SequenceEqual(resumed.Parameters.Span), "the resumed run differs from the uninterrupted one");
    }

    public static TheoryData<string> Optimizers() => ["adam", "amsgrad", "sgd", "rmsprop", "adagrad", "adadelta", "adamax", "nadam", "lion", "lamb", "ftrl", "adafactor"];

    [Theory]
    [MemberData(nameof(Optimizers))]
    public void Every_optimizer_and_its_common_options_round_trip_and_resume_bitwise(string which)
    {
        var (x, y) = FitTests.Blobs(64, 9);
        IOptimizer Make() => which switch
        {
            "adam" => new Adam(new AdamOptions(0.01f, 0.8f, 0.99f, 1e-6f)) { WeightDecay = 0.01f, ClipNorm = 2f },
            "amsgrad" => new Adam(new AdamOptions(0.01f, Amsgrad: true)) { GlobalClipNorm = 1f },
            "sgd" => new Sgd(new SgdOptions(0.05f, 0.9f, Nesterov: true)) { WeightDecay = 0.1f, DecayBiases = true },
            "adagrad" => new Adagrad(new AdagradOptions(0.05f, 0.2f, 1e-6f)) { WeightDecay = 0.01f },
            "adadelta" => new Adadelta(new AdadeltaOptions(1f, 0.9f, 1e-6f)) { ClipNorm = 1f },
            "adamax" => new Adamax(new AdamaxOptions(0.01f, 0.8f, 0.99f, 1e-6f)) { GlobalClipNorm = 1f },
            "nadam" => new Nadam(new NadamOptions(0.01f, 0.8f, 0.99f, 1e-6f)) { WeightDecay = 0.01f, DecayBiases = true },
            "lion" => new Lion(new LionOptions(3e-3f, 0.8f, 0.95f)) { WeightDecay = 0.1f },
            "lamb" => new Lamb(new LambOptions(0.01f, 0.8f, 0.99f, 1e-6f)) { WeightDecay = 0.01f, ClipNorm = 2f },
            "ftrl" => new Ftrl(new FtrlOptions(0.05f, -0.4f, 0.2f, 0.001f, 0.01f, 0.02f, 0.1f)) { ClipValue = 1f },
            "adafactor" => new Adafactor(new AdafactorOptions(0.05f, -0.6f, 1e-29f, 2e-3f, 0.8f)) { WeightDecay = 0.01f, ClipNorm = 2f },
            _ => new RmsProp(new RmsPropOptions(0.01f, 0.8f, 0.5f, 1e-6f, Centered: true)) { ClipValue = 0.5f },
        };
        Sequential straight = new Sequential(2, 3).Add(new Dense(6)).Add(new Relu()).Add(new Dense(4));
        straight.Compile(new SoftmaxCrossEntropy(), Make());
        Sequential first = new Sequential(2, 3).Add(new Dense(6)).Add(new Relu()).Add(new Dense(4));
        first.Compile(new SoftmaxCrossEntropy(), Make());
        for (int i = 0; i < 6; i++)
        {
            straight.TrainStep(x, y, 64);
            if (i < 3)
            {
                first.TrainStep(x, y, 64);
            }
        }

        string path = Path.Combine(_dir, $"{which}.ncm");
        ModelFile.Save(first, path);
        Sequential resumed = ModelFile.Load(path);
        Assert.Equal(ComponentRegistry.ConfigOf(first.Optimizer!).ToString(), ComponentRegistry.ConfigOf(resumed.Optimizer!).ToString());
        for (int i = 0; i < 3; i++)
        {
            resumed.TrainStep(x, y, 64);
        }

        Assert.True(straight.Parameters.Span.SequenceEqual(resumed.Parameters.Span), $"{which}: the resumed run differs");
    }

    [Fact]
    public void A_dense_layer_without_bias_at_the_end_of_an_uncompiled_model_loads_back()
    {
        // Its parameters were counted with a bias: the file held 12 floats where 15 were asked for, and the model that
        // Save had written could not be loaded.
        var model = new Sequential(4, seed: 2).Add(new Dense(3, useBias: false));
        string path = Path.Combine(_dir, "nobias.ncm");
        ModelFile.Save(model, path);
        Sequential loaded = ModelFile.Load(path);
        Assert.Equal(model.Parameters.ToArray(), loaded.Parameters.ToArray());
        Assert.False(((Dense)loaded.Layers[0]).UseBias);
    }

    [Theory]
    [InlineData("batch_normalization")]
    [InlineData("layer_normalization")]
    [InlineData("layer_normalization_bare")]
    [InlineData("normalization")]
    [InlineData("prelu")]
    public void A_forged_input_size_is_refused_before_a_layer_is_built_for_it(string which)
    {
        // A 600-byte file whose input size was set to 2e9 (checksum recomputed) built a BatchNormalization of 2e9
        // features: 48 GB allocated, then OutOfMemoryException.
        ILayer first = which switch
        {
            "batch_normalization" => new BatchNormalization(),
            "layer_normalization" => new LayerNormalization(),
            // No parameters: its scratch (28 bytes a feature) and a Normalization's statistics were built unchecked.
            "layer_normalization_bare" => new LayerNormalization(center: false, scale: false),
            "normalization" => new Normalization([0.5f, 1f, -1f, 2f], [1f, 4f, 0.25f, 1f]),
            _ => new PRelu(),
        };
        var model = new Sequential(4, seed: 2).Add(first).Add(new Dense(2));
        string path = Path.Combine(_dir, which + ".ncm");
        ModelFile.Save(model, path);
        byte[] bytes = File.ReadAllBytes(path);

        int nameLength = bytes[20];
        int inputOffset = 20 + 1 + nameLength + 8;
        Assert.Equal(4, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(inputOffset)));
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(inputOffset), 2_000_000_000);
        SHA256.HashData(bytes.AsSpan(0, bytes.Length - 32), bytes.AsSpan(bytes.Length - 32));
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => ModelFile.Read(bytes, "forged.ncm"));
        Assert.Contains("forged.ncm", e.Message, StringComparison.Ordinal);
        Assert.Contains("layer 0 (", e.Message, StringComparison.Ordinal);
        Assert.Contains("over 2,000,000,000 features", e.Message, StringComparison.Ordinal);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20, "the refusal allocated for the forged size");
    }

    [Fact]
    public void A_layer_of_your_own_with_a_forged_input_size_is_refused_before_its_parameters_are_allocated()
    {
        // The loader's size checks were a switch over the library's own layer types: a registered layer of two
        // parameters per feature, forged to 2e8 features, allocated 3.2 GB of parameters and gradients before the
        // read of its parameters failed.
        ComponentRegistry.RegisterLayer("TestPerFeature", _ => new PerFeatureLayer());
        var model = new Sequential(4, seed: 2).Add(new PerFeatureLayer()).Add(new Dense(2));
        string path = Path.Combine(_dir, "perfeature.ncm");
        ModelFile.Save(model, path);
        Assert.Equal(model.Parameters.ToArray(), ModelFile.Load(path).Parameters.ToArray());

        byte[] bytes = File.ReadAllBytes(path);
        int inputOffset = 20 + 1 + bytes[20] + 8;
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(inputOffset), 200_000_000);
        SHA256.HashData(bytes.AsSpan(0, bytes.Length - 32), bytes.AsSpan(bytes.Length - 32));
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => ModelFile.Read(bytes, "forged.ncm"));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20, "the refusal allocated for the forged size");
        Assert.Contains("forged.ncm", e.Message, StringComparison.Ordinal);
        Assert.Contains("layer 0 (TestPerFeature)", e.Message, StringComparison.Ordinal);
        Assert.Contains("over 200,000,000 features has 400,000,000 parameters, more than the", e.Message, StringComparison.Ordinal);
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
    public void Values_that_are_not_finite_are_neither_saved_nor_loaded()
    {
        // A NaN weight makes every prediction NaN: Save wrote one and Load read it back without a word.
        Sequential model = Trained(out _, out _);
        string path = Path.Combine(_dir, "model.ncm");
        ModelFile.Save(model, path);
        byte[] saved = File.ReadAllBytes(path);

        Span<float> weights = model.Layers[3].Parameters.Span;
        float kept = weights[5];
        weights[5] = float.NaN;
        var nan = Assert.Throws<ArgumentException>(() => ModelFile.Save(model, path));
        Assert.Contains("layer 3 ('dense_1'), parameter 5 is NaN", nan.Message, StringComparison.Ordinal);
        Assert.Equal(saved, File.ReadAllBytes(path));
        weights[5] = kept;

        model.Optimizer!.State.Span[7] = float.PositiveInfinity;
        var infinity = Assert.Throws<ArgumentException>(() => ModelFile.Save(model, path));
        Assert.Contains("optimizer's state, value 7 is Infinity", infinity.Message, StringComparison.Ordinal);
        Assert.Equal(saved, File.ReadAllBytes(path));
        ModelFile.Save(model, path, includeOptimizer: false);
        model.Optimizer.State.Span[7] = 0f;

        // A file holding one, behind a valid checksum: the weight's bytes located by a value no other float has.
        weights[5] = 1234.5678f;
        byte[] file = SavedWithReplaced(model, path, 1234.5678f, float.NegativeInfinity);
        var read = Assert.Throws<InvalidDataException>(() => ModelFile.Read(file, "edited.ncm"));
        Assert.Equal("edited.ncm: parameters of layer 3: value 5 is -Infinity, where a saved model's values are finite.", read.Message);
    }

    // Saves the model, which holds `marker` once (a value no other float of the file has), and returns the file with
    // that value replaced by `value`, behind a valid checksum.
    private static byte[] SavedWithReplaced(Sequential model, string path, float marker, float value)
    {
        ModelFile.Save(model, path);
        byte[] file = File.ReadAllBytes(path);
        byte[] bytes = BitConverter.GetBytes(marker);
        int at = file.AsSpan().IndexOf(bytes);
        Assert.True(at > 0 && file.AsSpan(at + 1).IndexOf(bytes) < 0, "the marker is not unique");
        BitConverter.GetBytes(value).CopyTo(file, at);
        SHA256.HashData(file.AsSpan(0, file.Length - 32), file.AsSpan(file.Length - 32));
        return file;
    }

    [Fact]
    public void A_negative_average_of_squares_in_the_optimizers_state_is_refused_by_save_and_by_load()
    {
        // Adam's v of -1, behind a valid checksum, loaded, and the next step moved a weight by -288.
        Sequential model = Trained(out _, out _);
        string path = Path.Combine(_dir, "model.ncm");
        ModelFile.Save(model, path);
        byte[] saved = File.ReadAllBytes(path);
        int parameters = model.Parameters.Length;
        Span<float> state = model.Optimizer!.State.Span;
        float kept = state[parameters + 3];
        state[parameters + 3] = -1f;
        var save = Assert.Throws<ArgumentException>(() => ModelFile.Save(model, path));
        Assert.StartsWith("adam's state slot 1 holds -1 for parameter 3, but it holds averages of squares, which are never negative: the model is not saved.", save.Message, StringComparison.Ordinal);
        Assert.Equal(saved, File.ReadAllBytes(path));

        // m may be negative; a file whose v is, behind a valid checksum, is refused.
        state[parameters + 3] = kept;
        state[3] = -2f;
        ModelFile.Save(model, path);
        state[parameters + 3] = 4321.8765f;
        byte[] file = SavedWithReplaced(model, path, 4321.8765f, -0.5f);
        var read = Assert.Throws<InvalidDataException>(() => ModelFile.Read(file, "edited.ncm"));
        Assert.StartsWith("edited.ncm: ", read.Message, StringComparison.Ordinal);
        Assert.Contains("adam's state slot 1 holds -0.5 for parameter 3", read.Message, StringComparison.Ordinal);
        Assert.NotNull(ModelFile.Read(file, "edited.ncm", compile: false));
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

    [Fact]
    public void A_layer_of_your_own_round_trips_once_its_factory_is_registered()
    {
        var model = new Sequential(3, 5).Add(new Dense(4)).Add(new CustomLayer { Scale = 2.5f });
        model.Compile(new MeanSquaredError(), new Adam());
        string path = Path.Combine(_dir, "custom.ncm");
        ModelFile.Save(model, path);

        var unknown = Assert.Throws<InvalidDataException>(() => ModelFile.Load(path));
        Assert.Contains("unknown layer type 'TestCustom'", unknown.Message, StringComparison.Ordinal);
        Assert.Contains("custom.ncm", unknown.Message, StringComparison.Ordinal);

        ComponentRegistry.RegisterLayer("TestCustom", config => new CustomLayer { Scale = config.GetSingle("scale") });
        Sequential loaded = ModelFile.Load(path);
        var layer = Assert.IsType<CustomLayer>(loaded.Layers[1]);
        Assert.Equal(2.5f, layer.Scale);
        Assert.Equal(model.Summary(), loaded.Summary());
        Assert.Contains("(TestCustom)", loaded.Summary(), StringComparison.Ordinal);

        // A factory that returns null is named (CreateLayer returned the null its signature rules out).
        ComponentRegistry.RegisterLayer("TestNullFactory", _ => null!);
        var empty = Assert.Throws<InvalidOperationException>(() => ComponentRegistry.CreateLayer(new ComponentConfig("TestNullFactory")));
        Assert.Contains("the factory registered for layer type 'TestNullFactory' returned null", empty.Message, StringComparison.Ordinal);
    }

    private sealed class PerFeatureLayer : Layer
    {
        public PerFeatureLayer()
            : base("per_feature")
        {
        }

        public override string DefaultName => "per_feature";

        public override string TypeId => "TestPerFeature";

        public override int ParameterCount => 2 * InputSize;

        protected override int OnBuild(int inputSize) => inputSize;

        protected override void OnForward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training) => input.CopyTo(output);

        protected override void OnBackward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch) => outputGrad.CopyTo(inputGrad);
    }

    private sealed class CustomLayer : Layer
    {
        public CustomLayer()
            : base("custom")
        {
        }

        public float Scale { get; init; } = 1f;

        public bool Unsavable { get; init; }

        public override string DefaultName => "custom";

        public override string TypeId => "TestCustom";

        public override void WriteConfig(ComponentConfig config)
        {
            if (Unsavable)
            {
                throw new NotSupportedException("this layer cannot be saved");
            }

            config.Set("scale", Scale);
        }

        protected override int OnBuild(int inputSize) => inputSize;

        protected override void OnForward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training) => input.CopyTo(output);

        protected override void OnBackward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch) => outputGrad.CopyTo(inputGrad);
    }
}
