using NeuralCore.Data;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Scoring;
using NeuralCore.Training;

namespace NeuralCore.Tests.Training;

public class FitTests
{
    /// <summary>Four well-separated Gaussian blobs in 2-D, one per class.</summary>
    internal static (float[] X, int[] Y) Blobs(int count, int seed)
    {
        var random = new Random(seed);
        float[] x = new float[count * 2];
        int[] y = new int[count];
        for (int i = 0; i < count; i++)
        {
            y[i] = random.Next(4);
            x[i * 2] = (float)(((y[i] % 2) * 4) - 2 + (random.NextDouble() - 0.5));
            x[(i * 2) + 1] = (float)(((y[i] / 2) * 4) - 2 + (random.NextDouble() - 0.5));
        }

        return (x, y);
    }

    internal static Sequential Model(ulong seed = 1, float learningRate = 0.01f)
    {
        var model = new Sequential(2, seed).Add(new Dense(16)).Add(new Relu()).Add(new Dense(4));
        model.Compile(new SoftmaxCrossEntropy(), new Adam(learningRate));
        return model;
    }

    /// <summary>Random pixels as bytes (scaled by 1/255 in the dataset), each labelled by its first byte modulo 3.</summary>
    private static (byte[] Bytes, int[] Labels, Dataset Data) RandomBytes(int count, int size, int seed)
    {
        byte[] bytes = new byte[count * size];
        new Random(seed).NextBytes(bytes);
        int[] labels = [.. Enumerable.Range(0, count).Select(i => bytes[i * size] % 3)];
        return (bytes, labels, Dataset.FromBytes(bytes, labels, size, 255f));
    }

    [Fact]
    public void Fit_on_a_byte_dataset_equals_fit_on_the_same_values_as_floats()
    {
        const int count = 300, size = 12;
        (byte[] bytes, int[] labels, Dataset data) = RandomBytes(count, size, 3);
        float[] floats = [.. bytes.Select(b => b / 255f)];

        Sequential Build()
        {
            var model = new Sequential(size, seed: 9).Add(new Dense(8)).Add(new Relu()).Add(new Dense(3));
            model.Compile(new SoftmaxCrossEntropy(), new Adam(0.01f));
            return model;
        }

        var options = new FitOptions { Epochs = 3, BatchSize = 32, ValidationSplit = 0.2 };
        Sequential fromBytes = Build(), fromFloats = Build();
        History a = fromBytes.Fit(data, options);
        History b = fromFloats.Fit(floats, labels, options);
        Assert.Equal(b.Loss, a.Loss);
        Assert.Equal(b.ValidationLoss, a.ValidationLoss);
        Assert.True(fromFloats.Parameters.Span.SequenceEqual(fromBytes.Parameters.Span), "the weights differ");

        Evaluation onBytes = fromBytes.Evaluate(data, 64);
        Evaluation onFloats = fromBytes.Evaluate(floats, labels, count, 64);
        Assert.Equal(onFloats, onBytes);
        Assert.Equal(fromBytes.PredictClasses(floats, count), fromBytes.PredictClasses(data, 7));
        Assert.Equal(fromBytes.ConfusionMatrix(floats, labels, count).ToArray(), fromBytes.ConfusionMatrix(data).ToArray());
    }

    [Fact]
    public void Evaluate_with_predictions_returns_the_evaluation_and_the_predictions_of_one_pass()
    {
        const int count = 203, size = 12;
        (_, _, Dataset data) = RandomBytes(count, size, 4);
        var model = new Sequential(size, seed: 5).Add(new Dense(8)).Add(new Relu()).Add(new Dense(3));
        model.Compile(new SoftmaxCrossEntropy(), new Adam(0.01f));
        model.Fit(data, new FitOptions { Epochs = 2, BatchSize = 32, ValidationSplit = 0 });

        // One more than needed: the tail must be left alone.
        float[] predictions = new float[(count * 3) + 1];
        predictions[^1] = 42f;
        Evaluation both = model.Evaluate(data, predictions, 64);
        Assert.Equal(model.Evaluate(data, 64), both);
        float[] expected = model.Predict(data, 7);
        Assert.True(expected.AsSpan().SequenceEqual(predictions.AsSpan(0, count * 3)), "the predictions differ from Predict's");
        Assert.Equal(42f, predictions[^1]);

        var shortSpan = Assert.Throws<ArgumentException>(() => model.Evaluate(data, new float[(count * 3) - 1]));
        Assert.Equal("predictions", shortSpan.ParamName);
        Assert.Contains("[count=203, outputs=3]", shortSpan.Message, StringComparison.Ordinal);

        // Predictions written over the features they are computed from would corrupt the later chunks.
        float[] features = new float[count * 12];
        var floats = new Dataset(features, new int[count], 12);
        var overlap = Assert.Throws<ArgumentException>(() => model.Evaluate(floats, features.AsSpan()));
        Assert.Equal("predictions", overlap.ParamName);
        Assert.Contains("overlaps", overlap.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Predict_over_rows_returns_what_predict_over_a_dataset_returns()
    {
        // Keras's model.predict(x) on an array: one call, every row, in chunks.
        var (x, y) = Blobs(203, 12);
        Sequential model = Model();
        model.Fit(x, y, new FitOptions { Epochs = 1 });
        float[] fromRows = model.Predict(x, 203, batchSize: 50);
        Assert.Equal(model.Predict(new Dataset(x, y, 2), 7), fromRows);
        Assert.Equal(203 * 4, fromRows.Length);
        Assert.Empty(model.Predict(ReadOnlySpan<float>.Empty, 0));
        Assert.Contains("needs exactly 202", Assert.Throws<ArgumentException>(() => model.Predict(x, 101)).Message, StringComparison.Ordinal);
        Assert.Equal(model.PredictClasses(new Dataset(x, y, 2)), model.PredictClasses(x, 203));

        // Without a loss the predictions are the outputs, in one pass.
        var bare = new Sequential(2, seed: 3).Add(new Dense(3));
        float[] outputs = new float[203 * 3];
        bare.Infer(x, outputs, 203);
        Assert.Equal(outputs, bare.Predict(new Dataset(x, y, 2), 64));
        Assert.Equal(outputs, bare.Predict(x, 203, 64));
    }

    [Fact]
    public void Evaluate_with_predictions_gives_a_regressions_values_and_its_metrics()
    {
        var random = new Random(6);
        const int count = 90;
        float[] x = [.. Enumerable.Range(0, count * 2).Select(_ => (float)random.NextDouble())];
        float[] y = [.. Enumerable.Range(0, count).Select(i => (2 * x[i * 2]) - x[(i * 2) + 1] + 0.5f)];
        var data = new Dataset(x, y, 2, 1);
        var model = new Sequential(2, seed: 3).Add(new Dense(4)).Add(new Relu()).Add(new Dense(1));
        model.Compile(new MeanSquaredError(), new Adam(0.05f), metrics: ["mae", "rmse", "r2"]);
        model.Fit(data, new FitOptions { Epochs = 5, BatchSize = 16, ValidationSplit = 0 });

        float[] predictions = new float[count];
        Evaluation both = model.Evaluate(data, predictions, 25);
        Evaluation alone = model.Evaluate(data, 25);
        Assert.Equal(alone.Loss, both.Loss);
        Assert.Equal(alone.Metrics, both.Metrics);
        Assert.True(model.Predict(data).AsSpan().SequenceEqual(predictions), "the predictions differ from Predict's");
    }

    [Fact]
    public void Dataset_overloads_name_a_mismatched_shape_or_label()
    {
        Sequential model = Model();
        var wide = new Dataset(new float[3 * 5], [0, 1, 2], 5);
        var shape = Assert.Throws<ArgumentException>(() => model.Fit(wide, null));
        Assert.Contains("[3, 5]", shape.Message, StringComparison.Ordinal);
        Assert.Contains("2 input features", shape.Message, StringComparison.Ordinal);
        var label = Assert.Throws<ArgumentException>(() => model.Evaluate(new Dataset(new float[4], [0, 7], 2)));
        Assert.Contains("Labels[1] = 7", label.Message, StringComparison.Ordinal);
        var uncompiled = new Sequential(2).Add(new Dense(4));
        Assert.Throws<InvalidOperationException>(() => uncompiled.Fit(new Dataset(new float[2], [0], 2), null));
    }

    [Fact]
    public void Consecutive_fit_calls_continue_the_shuffle_instead_of_replaying_it()
    {
        var (x, y) = Blobs(200, 6);
        Sequential once = Model(seed: 3), twice = Model(seed: 3);
        once.Fit(x, y, new FitOptions { Epochs = 2, BatchSize = 16 });
        twice.Fit(x, y, new FitOptions { Epochs = 1, BatchSize = 16 });
        History second = twice.Fit(x, y, new FitOptions { Epochs = 1, BatchSize = 16 });

        Assert.Equal(2, twice.EpochsTrained);
        Assert.Equal([1], second.Epochs.Select(e => e.Epoch));
        Assert.True(once.Parameters.Span.SequenceEqual(twice.Parameters.Span),
            "two one-epoch calls should train exactly as one two-epoch call (the second call must not replay the first order)");
    }

    [Fact]
    public void Initial_epoch_numbers_the_epochs_as_keras_does_and_is_checked()
    {
        var (x, y) = Blobs(64, 7);
        History history = Model().Fit(x, y, new FitOptions { Epochs = 5, InitialEpoch = 3, BatchSize = 16 });
        Assert.Equal([4, 5], history.Epochs.Select(e => e.Epoch));
        var ex = Assert.Throws<ArgumentException>(() => Model().Fit(x, y, new FitOptions { Epochs = 2, InitialEpoch = 2 }));
        Assert.Contains("initialEpoch=2", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void History_has_one_row_per_epoch_with_every_metric()
    {
        var (x, y) = Blobs(500, 1);
        History history = Model().Fit(x, y, new FitOptions { Epochs = 4, BatchSize = 16, ValidationSplit = 0.2 });
        Assert.Equal(4, history.Epochs.Count);
        Assert.Equal([1, 2, 3, 4], history.Epochs.Select(e => e.Epoch));
        Assert.All(history.Epochs, e =>
        {
            Assert.InRange(e.Accuracy, 0, 1);
            Assert.NotNull(e.ValidationLoss);
            Assert.NotNull(e.ValidationAccuracy);
            Assert.True(e.Seconds > 0);
        });
        Assert.True(history.Loss[^1] < history.Loss[0], "the loss should fall");
        Assert.True(history.ValidationAccuracy[^1] > 0.95, $"val accuracy {history.ValidationAccuracy[^1]}");
        Assert.Null(history.StopReason);
    }

    [Fact]
    public void Validation_split_takes_the_last_samples_before_shuffling()
    {
        // Keras: split_at = int(count * (1 - split)); the tail validates. The validation loss of the last epoch is
        // computed with the final weights, so evaluating the tail afterwards must give exactly the same value.
        var (x, y) = Blobs(100, 2);
        var seen = new List<int>();
        var probe = new LambdaCallback(onEpochEnd: (m, c) => seen.Add(c.Samples));
        Sequential model = Model();
        History history = model.Fit(x, y, new FitOptions { Epochs = 2, ValidationSplit = 0.25, Callbacks = [probe] });
        Assert.Equal([75, 75], seen);
        Evaluation tail = model.Evaluate(x.AsSpan(75 * 2), y.AsSpan(75), 25);
        Assert.Equal(tail.Loss, history.ValidationLoss[^1]);
        Assert.Equal(tail.Accuracy, history.ValidationAccuracy[^1]);
        Evaluation head = model.Evaluate(x.AsSpan(0, 25 * 2), y.AsSpan(0, 25), 25);
        Assert.NotEqual(head.Loss, history.ValidationLoss[^1]);

        // int(10 * (1 - 0.15)) = int(8.5) = 8 training samples.
        var (x10, y10) = Blobs(10, 3);
        var counts = new List<int>();
        Model().Fit(x10, y10, new FitOptions { ValidationSplit = 0.15, Callbacks = [new LambdaCallback(onEpochEnd: (m, c) => counts.Add(c.Samples))] });
        Assert.Equal([8], counts);
    }

    [Fact]
    public void A_validation_split_that_leaves_a_part_empty_names_fit_options_validation_split()
    {
        // One sample and ValidationSplit 0.5 was refused under the name of Dataset.SplitIndex's parameter
        // ("validationFraction=0.5", parameter 'validationFraction'), which Fit's caller never sees.
        var (x, y) = Blobs(1, 3);
        var e = Assert.Throws<ArgumentException>(() => Model().Fit(x, y, new FitOptions { ValidationSplit = 0.5 }));
        Assert.Equal("options", e.ParamName);
        Assert.Contains("ValidationSplit=0.5", e.Message, StringComparison.Ordinal);
        Assert.Contains("the training part would hold 0 and the validation part 1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_validation_data_and_an_empty_evaluation_are_refused_not_a_NaN()
    {
        // Empty ValidationInputs trained on with no validation (val_loss NaN, an EarlyStopping on it told to give
        // validation data), and Evaluate of no samples returned a loss of NaN; Keras refuses both.
        var (x, y) = Blobs(40, 5);
        var e = Assert.Throws<ArgumentException>(() => Model().Fit(x, y, new FitOptions { Epochs = 1, ValidationInputs = [], ValidationLabels = [] }));
        Assert.Equal("options", e.ParamName);
        Assert.Contains("ValidationInputs holds no samples", e.Message, StringComparison.Ordinal);

        Sequential model = Model();
        Assert.Equal("count", Assert.Throws<ArgumentException>(() => model.Evaluate(ReadOnlySpan<float>.Empty, ReadOnlySpan<int>.Empty, 0)).ParamName);
        Assert.Equal("count", Assert.Throws<ArgumentException>(() => model.Evaluate(ReadOnlySpan<float>.Empty, ReadOnlySpan<float>.Empty, 0)).ParamName);
        Assert.Equal(40, model.Evaluate(x, y, 40).Count);
    }

    [Fact]
    public void A_learning_rate_of_0_is_accepted_everywhere_and_leaves_the_weights_as_they_are()
    {
        // Keras allows learning_rate=0; the constructors refused it while the setter and the schedules allowed it.
        var (x, y) = Blobs(40, 6);
        var model = new Sequential(2, 1).Add(new Dense(8)).Add(new Relu()).Add(new Dense(4));
        model.Compile(new SoftmaxCrossEntropy(), new Adam(0f));
        float[] before = model.Parameters.ToArray();
        model.Fit(x, y, new FitOptions { Epochs = 2, BatchSize = 8 });
        Assert.Equal(before, model.Parameters.ToArray());
        _ = new Sgd(0f);
        _ = new RmsProp(0f);
        _ = new Ftrl(0f);
        Assert.Equal("LearningRate", Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(-1e-3f)).ParamName);

        // A model file keeps a rate of 0 as the options' rate too (SGD's read back 0.01 there).
        foreach (Optimizer optimizer in new Optimizer[] { new Sgd(0f), new Adam(0f) })
        {
            var saved = new Sequential(2, 1).Add(new Dense(2));
            saved.Compile(new MeanSquaredError(), optimizer);
            using var stream = new MemoryStream();
            NeuralCore.Serialization.ModelFile.WriteTo(saved, stream);
            Sequential loaded = NeuralCore.Serialization.ModelFile.Read(stream.ToArray(), "zero.ncm");
            Assert.Equal(0f, loaded.Optimizer!.LearningRate);
            Assert.Equal(0f, loaded.Optimizer switch { Sgd sgd => sgd.Options.LearningRate, Adam adam => adam.Options.LearningRate, _ => -1f });
        }
    }

    [Fact]
    public void Early_stopping_on_a_metric_undefined_on_the_data_does_not_call_it_divergence()
    {
        // The R² of one validation sample is NaN by definition while the losses fall.
        float[] x = [.. Enumerable.Range(0, 10).Select(i => i / 10f)];
        float[] t = [.. x.Select(v => (2 * v) + 1)];
        var model = new Sequential(1, 2).Add(new Dense(1));
        model.Compile(new MeanSquaredError(), new Sgd(0.1f), metrics: ["r2"]);
        History history = model.Fit(x, t, new FitOptions { Epochs = 3, ValidationSplit = 0.1, Callbacks = [new EarlyStopping("val_r2", patience: 1)] });
        Assert.NotNull(history.StopReason);
        Assert.Contains("undefined on this data", history.StopReason, StringComparison.Ordinal);
        Assert.DoesNotContain("diverged", history.StopReason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_seed_fixes_the_whole_run()
    {
        var (x, y) = Blobs(300, 4);
        var options = new FitOptions { Epochs = 2, BatchSize = 10, ValidationSplit = 0.1 };
        Sequential a = Model(7), b = Model(7), c = Model(7);
        a.Fit(x, y, options);
        b.Fit(x, y, options);
        c.Fit(x, y, options with { Seed = 99 });
        Assert.Equal(a.Parameters.ToArray(), b.Parameters.ToArray());
        Assert.NotEqual(a.Parameters.ToArray(), c.Parameters.ToArray());
    }

    [Fact]
    public void A_summed_loss_is_validated_in_batches_of_the_training_batch_size()
    {
        // With Reduction.Sum the loss of a batch grows with its size: Keras validates in batches of the training batch
        // size, so loss and val_loss are on one scale. Validation ran in chunks of 256 (val_loss 46.2 against 9.24).
        var random = new Random(8);
        float[] x = [.. Enumerable.Range(0, 80).Select(_ => (float)random.NextDouble())];
        float[] y = [.. Enumerable.Range(0, 40).Select(i => x[2 * i] + x[(2 * i) + 1])];
        var model = new Sequential(2, seed: 2).Add(new Dense(3)).Add(new Relu()).Add(new Dense(1));
        model.Compile(new MeanSquaredError(Reduction.Sum), new Sgd(0.01f));
        History history = model.Fit(x, y, new FitOptions { Epochs = 1, BatchSize = 4, ValidationSplit = 0.5 });
        Evaluation tail = model.Evaluate(x.AsSpan(40), y.AsSpan(20), 20, batchSize: 4);
        Assert.Equal(tail.Loss, history.ValidationLoss[^1], 12);
        Assert.NotEqual(model.Evaluate(x.AsSpan(40), y.AsSpan(20), 20).Loss, tail.Loss, 6);

        // The batch size as given, not as cut to a smaller training part: 10 training rows at BatchSize 32 validate 30
        // rows in one batch (they were validated in batches of 10).
        var small = new Sequential(2, seed: 2).Add(new Dense(3)).Add(new Relu()).Add(new Dense(1));
        small.Compile(new MeanSquaredError(Reduction.Sum), new Sgd(0.01f));
        history = small.Fit(x, y, new FitOptions { Epochs = 1, BatchSize = 32, ValidationSplit = 0.75 });
        Assert.Equal(small.Evaluate(x.AsSpan(20), y.AsSpan(10), 30, batchSize: 32).Loss, history.ValidationLoss[^1], 12);
        Assert.NotEqual(small.Evaluate(x.AsSpan(20), y.AsSpan(10), 30, batchSize: 10).Loss, history.ValidationLoss[^1], 6);
    }

    [Fact]
    public void Bad_validation_labels_and_a_null_stop_reason_are_named()
    {
        // A bad validation label blamed a parameter called 'validation data'; StopTraining(null) left an empty reason.
        var (x, y) = Blobs(40, 3);
        int[] bad = [.. y];
        bad[3] = 9;
        var ex = Assert.Throws<ArgumentException>(() => Model().Fit(x, y, new FitOptions { ValidationInputs = x, ValidationLabels = bad }));
        Assert.Equal("ValidationLabels", ex.ParamName);
        Assert.Contains("ValidationLabels[3] = 9", ex.Message, StringComparison.Ordinal);
        Assert.Equal("ValidationData", Assert.Throws<ArgumentException>(() =>
            Model().Fit(x, y, new FitOptions { ValidationData = new Dataset(x, bad, 2) })).ParamName);
        var stopper = new LambdaCallback(onEpochEnd: (_, c) => c.StopTraining(null!));
        Assert.Throws<ArgumentNullException>(() => Model().Fit(x, y, new FitOptions { Epochs = 2, Callbacks = [stopper] }));
    }

    [Fact]
    public void Explicit_validation_data_is_used()
    {
        var (x, y) = Blobs(200, 5);
        var (vx, vy) = Blobs(50, 6);
        Sequential model = Model();
        int trained = 0;
        var samples = new LambdaCallback(onEpochEnd: (_, context) => trained = context.Samples);

        // Explicit data takes the place of the split: all 200 samples train, and the validation values are the trained
        // model's on exactly vx, vy (a Fit that validated on anything else would report other numbers).
        History history = model.Fit(x, y, new FitOptions { Epochs = 2, ValidationInputs = vx, ValidationLabels = vy, ValidationSplit = 0.5, Callbacks = [samples] });
        Evaluation evaluation = model.Evaluate(vx, vy, 50);
        Assert.Equal(200, trained);
        Assert.Equal(50, evaluation.Count);
        Assert.Equal(evaluation.Loss, history.Epochs[^1].ValidationLoss!.Value, 12);
        Assert.Equal(evaluation.Accuracy, history.Epochs[^1].ValidationAccuracy!.Value, 12);
        Assert.NotEqual(history.Epochs[0].ValidationLoss, history.Epochs[1].ValidationLoss);
    }

    [Fact]
    public void Early_stopping_stops_and_restores_the_best_weights()
    {
        var (x, y) = Blobs(400, 7);
        Sequential model = Model(learningRate: 0.05f);
        var stopper = new EarlyStopping("val_loss", patience: 2, restoreBestWeights: true);
        float[]? bestWeights = null;
        var recorder = new LambdaCallback(onEpochEnd: (m, c) =>
        {
            if (m.Epoch == stopper.BestEpoch)
            {
                bestWeights = c.Model.Parameters.ToArray();
            }
        });

        // Labels that are pure noise: validation loss cannot keep improving.
        int[] noise = [.. y.Select((_, i) => (i * 7919) % 4)];
        History history = model.Fit(x, noise, new FitOptions { Epochs = 50, ValidationSplit = 0.5, Callbacks = [stopper, recorder] });
        Assert.True(history.Epochs.Count < 50, "training should stop early");
        Assert.Equal(history.Epochs.Count, stopper.StoppedEpoch);
        Assert.Equal(stopper.BestEpoch + 2, stopper.StoppedEpoch);
        Assert.Contains("early stopping", history.StopReason, StringComparison.Ordinal);
        Assert.Equal(bestWeights, model.Parameters.ToArray());
    }

    [Fact]
    public void Early_stopping_that_never_triggers_still_restores_the_best_weights_as_keras_3_does()
    {
        // Keras 3 restores the best weights at the end of training whenever restore_best_weights is set; this library
        // restored them only on an early stop, and a run that used all its epochs kept its last (worse) weights.
        var (x, y) = Blobs(200, 11);
        Sequential model = Model(learningRate: 0.05f);
        var byEpoch = new Dictionary<int, float[]>();
        var recorder = new LambdaCallback(onEpochEnd: (m, c) => byEpoch[m.Epoch] = c.Model.Parameters.ToArray());
        int[] noise = [.. y.Select((_, i) => (i * 7919) % 4)];
        var stopper = new EarlyStopping("val_loss", patience: 100, restoreBestWeights: true);
        History history = model.Fit(x, noise, new FitOptions { Epochs = 6, ValidationSplit = 0.5, Callbacks = [stopper, recorder] });
        Assert.Equal(6, history.Epochs.Count);
        Assert.Equal(0, stopper.StoppedEpoch);
        Assert.InRange(stopper.BestEpoch, 1, 5);
        Assert.Equal(history.Epochs.MinBy(e => e.ValidationLoss)!.Epoch, stopper.BestEpoch);
        Assert.Equal(stopper.BestEpoch, stopper.RestoredEpoch);
        Assert.Equal(byEpoch[stopper.BestEpoch], model.Parameters.ToArray());

        // Without restoring, the last epoch's weights stay.
        Sequential plain = Model(learningRate: 0.05f);
        var keeper = new EarlyStopping("val_loss", patience: 100);
        plain.Fit(x, noise, new FitOptions { Epochs = 6, ValidationSplit = 0.5, Callbacks = [keeper, recorder] });
        Assert.Equal(byEpoch[6], plain.Parameters.ToArray());
        Assert.Equal(0, keeper.RestoredEpoch);
    }

    [Fact]
    public void Early_stopping_on_a_missing_metric_says_so()
    {
        var (x, y) = Blobs(50, 8);
        var ex = Assert.Throws<InvalidOperationException>(() =>
            Model().Fit(x, y, new FitOptions { Epochs = 2, Callbacks = [new EarlyStopping("val_accuracy")] }));
        Assert.Contains("val_accuracy", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new EarlyStopping("val_acc"));
    }

    [Fact]
    public void A_nan_loss_stops_training_and_keeps_the_last_finite_weights()
    {
        var (x, y) = Blobs(64, 9);
        Sequential model = Model();
        model.Fit(x, y, new FitOptions { Epochs = 1 });
        // A finite weight whose products overflow (inputs holding a NaN are refused): the first step's logits are
        // infinities, whose difference in the softmax is NaN.
        model.Parameters.Span[0] = 3e38f;
        model.Parameters.Span[1] = 3e38f;
        float[] before = model.Parameters.ToArray();
        History history = model.Fit(x, y, new FitOptions { Epochs = 3, BatchSize = 64, Shuffle = false });
        Assert.Contains("the loss became NaN at epoch 1, step 1", history.StopReason, StringComparison.Ordinal);
        Assert.Empty(history.Epochs); // the epoch trained nothing, as History's documentation says
        Assert.Equal(before, model.Parameters.ToArray());
        Assert.All(model.Parameters.ToArray(), v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void Inputs_holding_a_nan_or_an_infinity_are_refused_naming_the_row_and_column()
    {
        // A NaN feature was accepted: Fit stopped at its first NaN loss without saying where the value was, and
        // PredictClasses picked a class from NaN scores.
        var (x, y) = Blobs(64, 9);
        Sequential model = Model();
        x[41] = float.NaN;
        foreach ((string name, Action call) in new (string, Action)[]
        {
            ("inputs", () => model.Fit(x, y, new FitOptions { Epochs = 1 })),
            ("features", () => _ = new Dataset(x, y, 2)),
            ("features", () => _ = new Dataset(x, new float[64], 2, 1)),
            ("inputs", () => model.Evaluate(x, y, 64)),
            ("inputs", () => model.PredictClasses(x, 64)),
            ("inputs", () => model.ConfusionMatrix(x, y, 64)),
            ("ValidationInputs", () => model.Fit(Blobs(8, 1).X, Blobs(8, 1).Y, new FitOptions { ValidationInputs = x, ValidationLabels = y })),
        })
        {
            var ex = Assert.Throws<ArgumentException>(call);
            Assert.Equal(name, ex.ParamName);
            Assert.StartsWith($"{name}[20, 1] = NaN: inputs must be finite", ex.Message, StringComparison.Ordinal);
        }

        x[41] = float.NegativeInfinity;
        Assert.StartsWith("features[20, 1] = -Infinity", Assert.Throws<ArgumentException>(() => new Dataset(x, y, 2)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_gradient_that_overflows_stops_training_before_its_update_writes_infinities()
    {
        // SGD at a rate of 1 on a one-weight regression diverges. The loss, summed in double, read 5e67 while the
        // float32 gradients had overflowed, and the updates left -Infinity in the weights.
        var model = new Sequential(1, seed: 1).Add(new Dense(1));
        model.Compile(new MeanSquaredError(), new Sgd(1f));
        History history = model.Fit([10f, -10f, 5f, 3f], [1f, 2f, 3f, 4f], new FitOptions { Epochs = 200, BatchSize = 4, Shuffle = false });
        Assert.Contains("training stopped and the weights are those before that step", history.StopReason, StringComparison.Ordinal);
        Assert.All(model.Parameters.ToArray(), v => Assert.True(float.IsFinite(v), $"weight {v}"));

        // An input of 1e30 against a weight of 1e-20: a loss of only 1e20, a gradient of 2e40.
        var wide = new Sequential(1, seed: 1).Add(new Dense(1, useBias: false));
        wide.Compile(new MeanSquaredError(), new Sgd(0.1f));
        wide.Parameters.Span[0] = 1e-20f;
        history = wide.Fit([1e30f], [0f], new FitOptions { Epochs = 3, BatchSize = 1 });
        Assert.Contains("a gradient overflowed (infinite or NaN) at epoch 1, step 1", history.StopReason, StringComparison.Ordinal);
        Assert.Equal(1e-20f, wide.Parameters.Span[0]);

        // Finite gradients of 4.6e36 under Adam: their squares overflowed the second moment, and the next update's
        // inf - inf wrote NaN into 24 weights while every loss and gradient was still finite.
        var (x, y) = Blobs(64, 9);
        Sequential adam = Model();
        x[40] = -float.MaxValue;
        x[41] = -float.MaxValue;
        float[] before = adam.Parameters.ToArray();
        history = adam.Fit(x, y, new FitOptions { Epochs = 3, BatchSize = 64, Shuffle = false });
        Assert.Contains("a gradient overflowed (beyond 1.84E+19 for adam, infinite or NaN) at epoch 1, step 1", history.StopReason, StringComparison.Ordinal);
        Assert.Equal(before, adam.Parameters.ToArray());

        // Whatever the sign: the largest magnitude keeps the sign of its element, and -Infinity (or -3e36) passed a bare
        // comparison with the limit and was applied. (SGD, whose step is linear in the gradient, takes any finite one:
        // A_loss_beyond_float32_with_finite_gradients_still_trains.)
        foreach (float target in new[] { 1.5e19f, -1.5e19f })
        {
            var line = new Sequential(1, seed: 3).Add(new Dense(1));
            line.Compile(new MeanSquaredError(), new Adam(1e-3f));
            line.Parameters.Span.Clear();
            TrainStepResult step = line.TrainStep([1e20f], LossTargets.FromValues([target]), 1);
            Assert.True(step.Skipped, $"target {target}");
            Assert.Equal([0f, 0f], line.Parameters.ToArray());
            Assert.Equal(0, line.Optimizer!.Iterations);
        }
    }

    [Fact]
    public void Each_epoch_draws_a_new_order()
    {
        // Two epochs of one Fit against the first epoch's order used twice (the count of epochs trained set back): the
        // weights differ only if the second epoch drew another order (one order for every epoch went unnoticed).
        var (x, y) = Blobs(64, 9);
        var options = new FitOptions { Epochs = 1, BatchSize = 8 };
        Sequential twoEpochs = Model(), sameOrderTwice = Model(), twoFits = Model();
        twoEpochs.Fit(x, y, options with { Epochs = 2 });
        sameOrderTwice.Fit(x, y, options);
        sameOrderTwice.EpochsTrained = 0;
        sameOrderTwice.Fit(x, y, options);
        Assert.NotEqual(twoEpochs.Parameters.ToArray(), sameOrderTwice.Parameters.ToArray());

        // The order follows the epochs trained, not the call: two Fits of one epoch are one Fit of two.
        twoFits.Fit(x, y, options);
        twoFits.Fit(x, y, options);
        Assert.Equal(twoEpochs.Parameters.ToArray(), twoFits.Parameters.ToArray());
    }

    [Fact]
    public void Training_labels_of_one_class_are_warned_about()
    {
        // They trained to an accuracy of 1 with no word; a regression's targets and two classes give no warning.
        var (x, y) = Blobs(64, 9);
        Sequential model = Model();
        History one = model.Fit(x, new int[64], new FitOptions { Epochs = 1 });
        Assert.StartsWith("every one of the 64 training samples has label 0: a classifier that sees one class", Assert.Single(one.Warnings), StringComparison.Ordinal);
        Assert.Empty(model.Fit(x, y, new FitOptions { Epochs = 1 }).Warnings);

        var regression = new Sequential(2, seed: 1).Add(new Dense(1));
        regression.Compile(new MeanSquaredError(), new Adam());
        Assert.Empty(regression.Fit(x, new float[64], new FitOptions { Epochs = 1 }).Warnings);
    }

    [Fact]
    public void A_NaN_output_has_no_class_and_is_refused_by_name()
    {
        // Rows of NaN scores were all class 0 in PredictClasses and the confusion matrix.
        var (x, y) = Blobs(64, 9);
        Sequential model = Model();
        Assert.Equal(64, model.PredictClasses(x, 64).Length);
        model.Layers[2].Parameters.Span[5] = float.NaN;
        var ex = Assert.Throws<InvalidOperationException>(() => model.PredictClasses(x, 64, batchSize: 16));
        Assert.StartsWith("The model's output for sample 0 is NaN, so it has no class: its weights overflow on this input (they are not all finite).", ex.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => model.ConfusionMatrix(x, y, 64));
        Assert.Throws<InvalidOperationException>(() => model.PredictClasses(new Dataset(x, y, 2)));

        // Evaluate reports such a model as it is, a NaN loss, but no longer an accuracy counted from NaN rows as class 0.
        Evaluation evaluation = model.Evaluate(x, y, 64);
        Assert.True(double.IsNaN(evaluation.Loss));
        Assert.Equal(0, evaluation.Accuracy);
    }

    [Fact]
    public void An_update_that_overflows_is_undone_and_training_stops_with_finite_weights()
    {
        // SGD at 1e6 on y = 3·x1 - 2·x2, x in [0, 10): the loss (summed in double) and the float32 gradients stayed finite while the
        // weights grew a millionfold a step, until an update of 1e6 times a gradient near 1e36 wrote -Infinity into them;
        // the next step's infinite loss stopped the run saying the weights were those before it.
        var rng = new Random(5);
        float[] x = new float[2 * 64], y = new float[64];
        for (int i = 0; i < 64; i++)
        {
            (x[2 * i], x[(2 * i) + 1]) = (10 * (float)rng.NextDouble(), 10 * (float)rng.NextDouble());
            y[i] = (3 * x[2 * i]) - (2 * x[(2 * i) + 1]);
        }

        var model = new Sequential(2, seed: 1).Add(new Dense(1));
        model.Compile(new MeanSquaredError(), new Sgd(1e6f));
        History history = model.Fit(x, y, new FitOptions { Epochs = 5, BatchSize = 16 });
        Assert.Contains("overflowed (a weight or the optimizer's state would have become infinite or NaN", history.StopReason, StringComparison.Ordinal);
        Assert.Contains("training stopped and the weights are those before that step", history.StopReason, StringComparison.Ordinal);
        Assert.All(model.Parameters.ToArray(), v => Assert.True(float.IsFinite(v), $"weight {v}"));
        Assert.True(model.Predict(x, 64).ToArray().All(float.IsFinite));

        // One step, momentum and all: w = 1e36 against a target of 0 gives a loss of 1e72 and a gradient of 2e36, and
        // the velocity (-2e42) and the weight overflow. Both are put back, and the step count too.
        foreach (float momentum in new[] { 0f, 0.9f })
        {
            var one = new Sequential(1, seed: 1).Add(new Dense(1, useBias: false));
            var sgd = new Sgd(new SgdOptions(1e6f, momentum));
            one.Compile(new MeanSquaredError(), sgd);
            one.Parameters.Span[0] = 1e36f;
            float[] state = sgd.State.ToArray();
            TrainStepResult step = one.TrainStep([1f], LossTargets.FromValues([0f]), 1);
            Assert.True(step.Skipped && step.UpdateOverflowed, $"momentum {momentum}");
            Assert.Equal(1e72, step.Loss, 1e66);
            Assert.Equal(1e36f, one.Parameters.Span[0]);
            Assert.Equal(state, sgd.State.ToArray());
            Assert.Equal(0, sgd.Iterations);

            // A step that does not overflow goes on from there, and is not marked.
            one.Parameters.Span[0] = 1e15f;
            step = one.TrainStep([1f], LossTargets.FromValues([0f]), 1);
            Assert.False(step.Skipped || step.UpdateOverflowed);
            Assert.Equal(1, sgd.Iterations);
        }
    }

    [Fact]
    public void A_loss_beyond_float32_with_finite_gradients_still_trains()
    {
        // Targets near 1e20: squared errors beyond float32, summed in double, with finite float32 gradients. Keras and
        // PyTorch update there, and so does this (a rule on the loss as a float32 stopped it at the first step).
        var model = new Sequential(1, seed: 1).Add(new Dense(1));
        model.Compile(new MeanSquaredError(), new Sgd(0.1f));
        float[] x = [1f, 1f, 1f, 1f], y = [1e20f, 2e20f, 3e20f, 4e20f];
        History history = model.Fit(x, y, new FitOptions { Epochs = 60, BatchSize = 4, Shuffle = false });
        Assert.Null(history.StopReason);
        Assert.Equal(60, history.Epochs.Count);
        Assert.True(history.Epochs[^1].Loss < history.Epochs[0].Loss / 2, $"loss {history.Epochs[0].Loss} -> {history.Epochs[^1].Loss}");
        Assert.False(model.TrainStep(x, NeuralCore.Losses.LossTargets.FromValues(y), 4).Skipped);
    }

    [Fact]
    public void Cancellation_stops_after_the_current_step()
    {
        var (x, y) = Blobs(320, 10);
        using var cts = new CancellationTokenSource();
        int steps = 0;
        var cancelAtThree = new LambdaCallback(onBatchEnd: (e, s, r, c) =>
        {
            steps++;
            if (steps == 3)
            {
                cts.Cancel();
            }
        });
        Assert.Throws<OperationCanceledException>(() =>
            Model().Fit(x, y, new FitOptions { Epochs = 5, BatchSize = 32, Callbacks = [cancelAtThree], CancellationToken = cts.Token }));
        Assert.Equal(3, steps);
    }

    [Fact]
    public void Mismatched_data_names_both_shapes()
    {
        Sequential model = Model();
        var ex = Assert.Throws<ArgumentException>(() => model.Fit(new float[20], new int[9]));
        Assert.Contains("[10, 2]", ex.Message, StringComparison.Ordinal);
        Assert.Contains("[9]", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("features, not the model's", ex.Message, StringComparison.Ordinal);

        // 30 rows of 3 features into a 2-input model read as 45 rows of 2: the width is named as the likelier cause.
        var wide = Assert.Throws<ArgumentException>(() => model.Fit(new float[90], new int[30]));
        Assert.Equal("inputs has shape [45, 2] but labels has shape [30]: they must hold as many samples (or inputs holds rows of 3 features, not the model's 2?). (Parameter 'labels')", wide.Message);
        var ragged = Assert.Throws<ArgumentException>(() => model.Fit(new float[21], new int[10]));
        Assert.Contains("2 input features", ragged.Message, StringComparison.Ordinal);
        var label = Assert.Throws<ArgumentException>(() => model.Fit(new float[4], [0, 4]));
        Assert.Contains("labels[1] = 4", label.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => model.Fit(new float[4], [0, 1], new FitOptions { ValidationSplit = 1 }));
        Assert.Throws<ArgumentException>(() => model.Fit(new float[4], [0, 1], new FitOptions { Epochs = 0 }));
        var uncompiled = new Sequential(2).Add(new Dense(4));
        Assert.Throws<InvalidOperationException>(() => uncompiled.Fit(new float[4], [0, 1]));
    }
}

public class ConcurrentFitTests
{
    [Fact]
    public async Task A_second_fit_on_a_model_in_training_is_refused()
    {
        var (x, y) = FitTests.Blobs(2000, 3);
        NeuralCore.Models.Sequential model = FitTests.Model();
        using var started = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        // The first Fit pauses inside its first step's callback until the second has been tried.
        var pause = new LambdaCallback(onBatchEnd: (_, step, _, _) =>
        {
            if (step == 1)
            {
                started.Set();
                release.Wait(TimeSpan.FromSeconds(30));
            }
        });
        NeuralCore.Models.Predictor before = model.CreatePredictor();
        float[] beforePrediction = before.Predict(x.AsSpan(0, 2));
        Task<History> first = Task.Run(() => model.Fit(x, y, new FitOptions { Epochs = 1, Callbacks = [pause] }));
        Assert.True(started.Wait(TimeSpan.FromSeconds(30)), "the first Fit did not start");
        var ex = Assert.Throws<InvalidOperationException>(() => model.Fit(x, y, new FitOptions { Epochs = 1 }));
        Assert.Contains("Fit was called on the model 'sequential' while another thread trains it", ex.Message, StringComparison.Ordinal);

        // Nor may another thread step, take gradients or recompile while it runs (each threw from inside the optimizer
        // or mixed the two threads' updates before).
        ex = Assert.Throws<InvalidOperationException>(() => model.TrainStep(x.AsSpan(0, 8), y.AsSpan(0, 4), 4));
        Assert.Contains("TrainStep was called", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<InvalidOperationException>(() => model.ComputeGradients(x.AsSpan(0, 8), y.AsSpan(0, 4), 4));
        Assert.Contains("ComputeGradients was called", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<InvalidOperationException>(() => model.Compile(new SoftmaxCrossEntropy(), new Adam()));
        Assert.Contains("Compile was called", ex.Message, StringComparison.Ordinal);

        // Its weights may be read, though: no step runs while Fit's thread waits in a callback (below, the refusal
        // while steps may run).
        Assert.Equal(before.Predict(x.AsSpan(0, 2)), beforePrediction);
        Assert.Equal(4, model.Predict(x.AsSpan(0, 2)).Length);
        release.Set();
        Assert.Single((await first).Epochs);

        // Once the first has finished, the model trains again, in any of the three ways.
        Assert.Single(model.Fit(x, y, new FitOptions { Epochs = 1 }).Epochs);
        model.TrainStep(x.AsSpan(0, 8), y.AsSpan(0, 4), 4);
        model.Compile(new SoftmaxCrossEntropy(), new Adam());
    }

    [Fact]
    public void Reads_while_another_thread_may_be_stepping_are_refused_by_name()
    {
        // During an epoch's steps the weights are in the products' panel order and rewritten every step: a Predict from
        // another thread was off by up to 1.7. Steps are simulated by a thread holding the model as a training call does,
        // so that the test does not depend on when a real step runs.
        var (x, y) = FitTests.Blobs(64, 4);
        NeuralCore.Models.Sequential model = FitTests.Model();
        NeuralCore.Models.Predictor before = model.CreatePredictor();
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var trainer = new Thread(() =>
        {
            model.EnterTraining("a test's training", reentrant: false);
            entered.Set();
            release.Wait(TimeSpan.FromSeconds(30));
            model.ExitTraining();
        });
        trainer.Start();
        try
        {
            Assert.True(entered.Wait(TimeSpan.FromSeconds(30)));
            foreach ((string name, Action read) in new (string, Action)[]
            {
                ("Predict", () => model.Predict(x.AsSpan(0, 2))),
                ("Infer", () => model.Infer(x.AsSpan(0, 2), new float[4], 1)),
                ("Evaluate", () => model.Evaluate(x, y, 4)),
                ("ConfusionMatrix", () => model.ConfusionMatrix(x, y, 4)),
                ("CreatePredictor", () => model.CreatePredictor()),
                ("ModelFile.Save", () => NeuralCore.Serialization.ModelFile.Save(model, Path.Combine(Path.GetTempPath(), $"nc-{Guid.NewGuid():N}.ncm"))),
            })
            {
                var ex = Assert.Throws<InvalidOperationException>(read);
                Assert.Contains($"{name} was called on the model 'sequential' while another thread trains it", ex.Message, StringComparison.Ordinal);
            }

            // A predictor made before keeps its own copy.
            Assert.Equal(4, before.Predict(x.AsSpan(0, 2)).Length);
        }
        finally
        {
            release.Set();
            trainer.Join();
        }

        Assert.Equal(4, model.Predict(x.AsSpan(0, 2)).Length);
    }

    [Fact]
    public void A_training_that_begins_during_a_read_waits_for_it_and_later_reads_are_refused()
    {
        // The reads' refusal was a check, not a lock: a Predict that passed it just before another thread's Fit took the
        // model read the weights while the first step reordered and rewrote them. With the reads outside a training
        // not counted (the code before), the first step ran within the read (the 'no step began' assertion failed).
        var (x, y) = FitTests.Blobs(64, 4);
        NeuralCore.Models.Sequential model = FitTests.Model();
        using var stepped = new ManualResetEventSlim();
        var signal = new LambdaCallback(onBatchEnd: (_, _, _, _) => stepped.Set());
        History? history = null;
        var trainer = new Thread(() => history = model.Fit(x, y, new FitOptions { Epochs = 1, BatchSize = 16, Callbacks = [signal] }));
        using (model.EnterRead("a test's read"))
        {
            trainer.Start();
            Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref model.TrainingThread) != 0, TimeSpan.FromSeconds(30)), "Fit did not take the model");

            // The model is taken: a read that begins now is refused, while the one in progress goes on.
            Exception? late = null;
            var reader = new Thread(() => late = Record.Exception(() => model.Predict(x.AsSpan(0, 2))));
            reader.Start();
            reader.Join();
            Assert.Contains("Predict was called on the model 'sequential' while another thread trains it",
                Assert.IsType<InvalidOperationException>(late).Message, StringComparison.Ordinal);
            Assert.False(stepped.Wait(TimeSpan.FromMilliseconds(300)), "a step began while a read was in progress");
        }

        Assert.True(stepped.Wait(TimeSpan.FromSeconds(30)), "Fit did not go on after the read ended");
        Assert.True(trainer.Join(TimeSpan.FromSeconds(30)), "Fit did not finish");
        Assert.Single(history!.Epochs);

        // A step with no callback (no window to wait at) waits in EnterTraining; with that wait removed it ran at once.
        var stepper = new Thread(() => model.TrainStep(x.AsSpan(0, 8), y.AsSpan(0, 4), 4));
        using (model.EnterRead("a test's read"))
        {
            float[] weights = model.Parameters.ToArray();
            stepper.Start();
            Assert.False(stepper.Join(TimeSpan.FromMilliseconds(300)), "a step ran while a read was in progress");
            Assert.True(weights.AsSpan().SequenceEqual(model.Parameters.Span), "a step wrote the weights while a read was in progress");
        }

        Assert.True(stepper.Join(TimeSpan.FromSeconds(30)), "the step did not run after the read ended");

        // A training call on the reading thread itself would wait for its own read forever: refused instead.
        using (model.EnterRead("a test's read"))
        {
            var own = Assert.Throws<InvalidOperationException>(() => model.TrainStep(x.AsSpan(0, 8), y.AsSpan(0, 4), 4));
            Assert.Contains("from inside a read of it on the same thread", own.Message, StringComparison.Ordinal);
        }

        Assert.Equal(0, Volatile.Read(ref model.TrainingThread));
        model.TrainStep(x.AsSpan(0, 8), y.AsSpan(0, 4), 4);
    }

    [Fact]
    public void A_thread_that_a_callback_starts_and_waits_for_may_read_the_model()
    {
        // No step runs while Fit's thread runs a callback, and the weights are row-major then: a helper thread of the
        // callback (a parallel validation, a save) was refused by thread id alone.
        var (x, y) = FitTests.Blobs(64, 4);
        NeuralCore.Models.Sequential model = FitTests.Model();
        float[]? fromHelper = null, fromCallback = null;
        Exception? failure = null;
        var callback = new LambdaCallback(onEpochEnd: (_, _) =>
        {
            fromCallback = model.Predict(x.AsSpan(0, 2));
            var helper = new Thread(() => failure = Record.Exception(() => fromHelper = model.Predict(x.AsSpan(0, 2))));
            helper.Start();
            helper.Join();
        });
        model.Fit(x, y, new FitOptions { Epochs = 1, BatchSize = 16, Callbacks = [callback] });
        Assert.Null(failure);
        Assert.Equal(fromCallback, fromHelper);
    }

    [Fact]
    public async Task A_read_admitted_during_the_callbacks_finishes_before_the_next_step()
    {
        // Weights that never change (a learning rate of 0), in panel order during the steps (a callback between epochs
        // only), and a thread predicting all along: every prediction it is given must be the model's. A read admitted
        // while the callbacks ran went on into the next epoch's reordering: 13 of 14,000 were wrong, by up to 0.08. The
        // race is narrow: with the wait in LeaveCallbacks removed this test failed in 1 of 4 runs; it never fails with it.
        var model = new Sequential(784, seed: 4).Add(new Dense(64)).Add(new Relu()).Add(new Dense(10));
        var sgd = new Sgd(0.01f);
        model.Compile(new SoftmaxCrossEntropy(), sgd);
        sgd.LearningRate = 0f;
        float[] x = Seeded.Uniform(256 * 784, 6);
        int[] y = [.. Enumerable.Range(0, 256).Select(i => i % 10)];
        float[] expected = model.Predict(x.AsSpan(0, 784));
        int admitted = 0, wrong = 0;
        // Each window stays open until a read was admitted in it (or 50 ms), so that reads cross into every next epoch.
        var pause = new LambdaCallback(onEpochEnd: (_, _) =>
        {
            int before = Volatile.Read(ref admitted);
            SpinWait.SpinUntil(() => Volatile.Read(ref admitted) > before, 50);
        });
        using var done = new CancellationTokenSource();
        using var started = new ManualResetEventSlim();
        var reader = Task.Run(() =>
        {
            // From before Fit takes the model: a read in progress then finishes before the first step.
            started.Set();
            while (!done.IsCancellationRequested)
            {
                try
                {
                    float[] p = model.Predict(x.AsSpan(0, 784));
                    Interlocked.Increment(ref admitted);
                    wrong += p.AsSpan().SequenceEqual(expected) ? 0 : 1;
                }
                catch (InvalidOperationException)
                {
                }
            }
        });
        Assert.True(started.Wait(TimeSpan.FromSeconds(30)), "the reader did not start");
        model.Fit(x, y, new FitOptions { Epochs = 40, BatchSize = 32, Callbacks = [pause] });
        done.Cancel();
        await reader;
        Assert.Equal(0, wrong);
        Assert.True(admitted > 0, "no read was admitted");
    }

    [Fact]
    public void A_read_of_many_batches_admitted_during_the_callbacks_is_not_refused_halfway()
    {
        // Predict over a dataset reads batch after batch through Infer; each inner read was checked again, and failed
        // with "Infer was called" once the window had closed, although the read had been admitted (42 of 1,700).
        var model = new Sequential(784, seed: 4).Add(new Dense(64)).Add(new Relu()).Add(new Dense(10));
        model.Compile(new SoftmaxCrossEntropy(), new Sgd(0.01f));
        float[] x = Seeded.Uniform(256 * 784, 7);
        int[] y = [.. Enumerable.Range(0, 256).Select(i => i % 10)];
        var data = new Dataset(x, y, 784);
        var pause = new LambdaCallback(onEpochEnd: (_, _) => Thread.Sleep(3));
        var refusedBy = new System.Collections.Concurrent.ConcurrentBag<string>();
        bool done = false;
        var reader = new Thread(() =>
        {
            SpinWait.SpinUntil(() => Volatile.Read(ref model.TrainingThread) != 0 || Volatile.Read(ref done));
            while (!Volatile.Read(ref done))
            {
                try
                {
                    _ = model.Predict(data, batchSize: 8);
                }
                catch (InvalidOperationException ex)
                {
                    refusedBy.Add(ex.Message[..ex.Message.IndexOf(' ', StringComparison.Ordinal)]);
                }
            }
        });
        reader.Start();
        model.Fit(x, y, new FitOptions { Epochs = 30, BatchSize = 32, Callbacks = [pause] });
        Volatile.Write(ref done, true);
        reader.Join();
        Assert.All(refusedBy, name => Assert.Equal("Predict", name));
    }

    [Fact]
    public void A_callback_may_step_the_model_but_not_fit_or_compile_it_again()
    {
        var (x, y) = FitTests.Blobs(64, 4);
        NeuralCore.Models.Sequential model = FitTests.Model();
        Exception? nestedFit = null, nestedCompile = null;
        int extraSteps = 0;
        var inside = new LambdaCallback(onBatchEnd: (_, step, _, _) =>
        {
            if (step == 1)
            {
                model.TrainStep(x.AsSpan(0, 8), y.AsSpan(0, 4), 4);
                extraSteps++;
                nestedFit = Record.Exception(() => model.Fit(x, y, new FitOptions { Epochs = 1 }));
                nestedCompile = Record.Exception(() => model.Compile(new SoftmaxCrossEntropy(), new Adam()));
            }
        });
        model.Fit(x, y, new FitOptions { Epochs = 1, BatchSize = 16, Callbacks = [inside] });
        Assert.Equal(1, extraSteps);
        Assert.Contains("from inside its own training", Assert.IsType<InvalidOperationException>(nestedFit).Message, StringComparison.Ordinal);
        Assert.Contains("from inside its own training", Assert.IsType<InvalidOperationException>(nestedCompile).Message, StringComparison.Ordinal);
    }
}
