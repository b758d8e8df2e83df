using NeuralCore.Data;
using NeuralCore.Kernels;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Serialization;
using NeuralCore.Training;

namespace NeuralCore.Tests.Training;

/// <summary>
/// <see cref="ModelCheckpoint.SaveFrequency"/>, Keras's <c>save_freq</c> as a number of batches, and the running
/// values it reads (<see cref="TrainingContext.EpochValuesSoFar"/>, Keras's batch logs).
/// </summary>
[Collection(SerialTests.Name)]
public sealed class ModelCheckpointFrequencyTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("neuralcore-checkpoint-steps-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    // 300 features into 64 units: a first layer that Fit keeps in panel order through an epoch's steps.
    private const int Features = 300;

    private static Dataset Data(int count)
    {
        byte[] bytes = new byte[count * Features];
        new Random(3).NextBytes(bytes);
        int[] labels = [.. Enumerable.Range(0, count).Select(i => (bytes[i * Features] + bytes[(i * Features) + 7]) % 10)];
        return Dataset.FromBytes(bytes, labels, Features, 255f);
    }

    private static Sequential Model()
    {
        var model = new Sequential(Features, seed: 5).Add(new Dense(64)).Add(new Relu()).Add(new Dense(10));
        model.Compile(new SoftmaxCrossEntropy(), new Adam(1e-3f));
        return model;
    }

    [Fact]
    public void Saves_every_n_steps_counted_across_epochs_and_not_at_epoch_ends()
    {
        // 200 samples in batches of 20: 10 steps an epoch; every 4 steps over 3 epochs is global steps 4, 8, ..., 28.
        var checkpoint = new ModelCheckpoint(Path.Combine(_folder, "m-{epoch}-{batch:02d}.ncm"), monitor: "loss", saveFrequency: 4);
        Model().Fit(Data(200), new FitOptions { Epochs = 3, BatchSize = 20, Callbacks = [checkpoint] });
        string[] names = [.. Directory.GetFiles(_folder).Select(Path.GetFileName).Order(StringComparer.Ordinal)!];
        Assert.Equal(["m-1-04.ncm", "m-1-08.ncm", "m-2-02.ncm", "m-2-06.ncm", "m-2-10.ncm", "m-3-04.ncm", "m-3-08.ncm"], names);
        Assert.Equal(Path.Combine(_folder, "m-3-08.ncm"), checkpoint.LastSavedPath);

        // As in Keras, the count goes on into the next Fit: 2 steps were left after step 28, so it saves at steps 2, 6 and 10.
        Model().Fit(Data(200), new FitOptions { Epochs = 1, BatchSize = 20, Callbacks = [checkpoint] });
        Assert.True(File.Exists(Path.Combine(_folder, "m-1-02.ncm")));
        Assert.False(File.Exists(Path.Combine(_folder, "m-1-01.ncm")));
        Assert.Equal(Path.Combine(_folder, "m-1-10.ncm"), checkpoint.LastSavedPath);
    }

    [Fact]
    public void A_file_saved_between_steps_holds_the_weights_of_that_step_row_major_and_the_training_is_unchanged()
    {
        Assert.True(PanelLayout.TryCreate(Features, 64, KernelIsaSupport.Best, out _), "the first layer must take the panel order for this test to mean anything");
        Dataset data = Data(200);

        // What a callback that reads the weights sees after step 7 of epoch 2 (Fit then keeps them row-major).
        float[]? expected = null;
        Sequential reference = Model();
        reference.Fit(data, new FitOptions
        {
            Epochs = 2,
            BatchSize = 20,
            Callbacks = [new LambdaCallback((epoch, step, _, context) =>
            {
                if (epoch == 2 && step == 7)
                {
                    expected = context.Model.Parameters.ToArray();
                }
            })],
        });

        // The same training with a checkpoint every 17 steps: after step 7 of epoch 2, with the weights in panel order.
        Sequential model = Model();
        var checkpoint = new ModelCheckpoint(Path.Combine(_folder, "m.ncm"), monitor: "loss", saveFrequency: 17);
        model.Fit(data, new FitOptions { Epochs = 2, BatchSize = 20, Callbacks = [checkpoint] });

        Assert.NotNull(expected);
        Assert.Equal(expected, ModelFile.Load(Path.Combine(_folder, "m.ncm")).Parameters.ToArray());
        Assert.Equal(reference.Parameters.ToArray(), model.Parameters.ToArray());
        Assert.Equal(((Optimizer)reference.Optimizer!).State.ToArray(), ((Optimizer)model.Optimizer!).State.ToArray());
    }

    [Fact]
    public void The_epochs_values_so_far_are_the_running_means_that_end_at_the_epochs_own()
    {
        var seen = new List<IReadOnlyDictionary<string, double>>();
        var steps = new List<TrainStepResult>();
        TrainingContext? saved = null;
        var record = new LambdaCallback((_, _, result, context) =>
        {
            steps.Add(result);
            seen.Add(context.EpochValuesSoFar());
            saved = context;
        });
        Sequential model = Model();
        model.Compile(new SoftmaxCrossEntropy(), new Adam(1e-3f), metrics: ["accuracy", "kl_divergence"]);
        History history = model.Fit(Data(200), new FitOptions { Epochs = 2, BatchSize = 30, ValidationSplit = 0.1, Callbacks = [record] });

        // 180 training samples in batches of 30: 6 steps an epoch.
        Assert.Equal(12, seen.Count);
        Assert.Equal(["accuracy", "kl_divergence", "loss"], seen[0].Keys.Order(StringComparer.Ordinal));
        foreach ((int step, EpochMetrics epoch) in new[] { (5, history.Epochs[0]), (11, history.Epochs[1]) })
        {
            Assert.Equal(epoch.Loss, seen[step]["loss"]);
            Assert.Equal(epoch.Values["accuracy"], seen[step]["accuracy"]);
            Assert.Equal(epoch.Values["kl_divergence"], seen[step]["kl_divergence"]);
        }

        // An epoch's first values are its first step's alone (nothing carried over from the epoch before).
        Assert.Equal(steps[6].Loss, seen[6]["loss"], 12);
        Assert.Equal((double)steps[6].Correct / steps[6].Judged, seen[6]["accuracy"]);
        var outside = Assert.Throws<InvalidOperationException>(() => saved!.EpochValuesSoFar());
        Assert.Contains("No training step of the current epoch has run yet", outside.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Best_only_every_n_steps_saves_when_the_running_value_improves()
    {
        var losses = new List<(int Epoch, int Step, double Loss)>();
        var record = new LambdaCallback((epoch, step, _, context) => losses.Add((epoch, step, context.EpochValuesSoFar()["loss"])));
        var best = new ModelCheckpoint(Path.Combine(_folder, "best-{epoch}-{batch}-{loss:.4f}.ncm"), monitor: "loss", saveBestOnly: true, saveFrequency: 3);
        Model().Fit(Data(200), new FitOptions { Epochs = 3, BatchSize = 20, Callbacks = [record, best] });

        // The candidates are every third step; a file for each one that beat every earlier candidate.
        var candidates = losses.Where((_, i) => (i + 1) % 3 == 0).ToList();
        var improving = new List<(int Epoch, int Step, double Loss)>();
        foreach (var candidate in candidates)
        {
            if (improving.Count == 0 || candidate.Loss < improving[^1].Loss)
            {
                improving.Add(candidate);
            }
        }

        Assert.True(improving.Count >= 2, "the loss should improve at least once");
        Assert.Equal(improving.Select(c => FormattableString.Invariant($"best-{c.Epoch}-{c.Step}-{c.Loss:F4}.ncm")).Order(StringComparer.Ordinal),
            Directory.GetFiles(_folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal((improving[^1].Epoch, improving[^1].Step), (best.BestEpoch, best.BestBatch));
    }

    [Fact]
    public void Validation_values_and_a_batch_without_a_frequency_are_refused_before_training()
    {
        Dataset data = Data(100);
        Sequential model = Model();
        float[] before = model.Parameters.ToArray();
        var path = Assert.Throws<InvalidOperationException>(() => model.Fit(data, new FitOptions
        {
            Epochs = 1,
            ValidationSplit = 0.2,
            Callbacks = [new ModelCheckpoint(Path.Combine(_folder, "m-{val_loss:.2f}.ncm"), monitor: "loss", saveFrequency: 2)],
        }));
        Assert.Contains("its path names val_loss", path.Message, StringComparison.Ordinal);

        var monitor = Assert.Throws<InvalidOperationException>(() => model.Fit(data, new FitOptions
        {
            Epochs = 1,
            ValidationSplit = 0.2,
            Callbacks = [new ModelCheckpoint(Path.Combine(_folder, "m.ncm"), monitor: "val_accuracy", saveBestOnly: true, saveFrequency: 2)],
        }));
        Assert.Contains("its monitor names val_accuracy", monitor.Message, StringComparison.Ordinal);
        Assert.Equal(before, model.Parameters.ToArray());
        Assert.Empty(Directory.GetFiles(_folder));

        var batch = Assert.Throws<ArgumentException>(() => new ModelCheckpoint("m-{batch}.ncm"));
        Assert.Contains("only a checkpoint that saves every N steps", batch.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ModelCheckpoint("m.ncm", saveFrequency: -1));
    }
}
