using NeuralCore.Data;
using NeuralCore.Kernels;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Training;
using static NeuralCore.Tests.Kernels.GemmSplitTests;

namespace NeuralCore.Tests.Models;

/// <summary>
/// A step on several threads computes its loss and accuracy count on the output layer's rows, by the threads that
/// computed them: the loss, the count, the gradients and the update must be the bits of the same step on one thread,
/// which computes them after the product, with and without sample weights, for each loss that reads labels.
/// </summary>
[Collection(SerialTests.Name)]
public class StepOutputRowsTests
{
    public static TheoryData<string, int, bool, int> Cases() => new()
    {
        // loss, output units, sample weights, input features (300: two k blocks, which the hidden layer's threads
        // divide, the output rows then computed in its reduction phase; 200: one block, the output layer in a region of
        // its own)
        { "softmax", 10, false, 300 },
        { "softmax", 10, true, 300 },
        { "softmax-sum", 10, false, 300 },
        { "smoothed", 10, true, 300 },
        { "binary-logits", 1, true, 300 },
        { "softmax", 10, true, 200 },
        { "smoothed", 10, false, 200 },
        { "softmax-sum", 10, true, 200 },
        { "binary-logits", 1, false, 200 },
    };

    private static Loss Create(string name) => name switch
    {
        "softmax" => new SoftmaxCrossEntropy(),
        "softmax-sum" => new SoftmaxCrossEntropy(reduction: Reduction.Sum),
        "smoothed" => new CategoricalCrossentropy(fromLogits: true, labelSmoothing: 0.1f),
        "binary-logits" => new BinaryCrossentropy(fromLogits: true),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Two_threads_give_the_loss_count_and_update_of_one(string loss, int units, bool weighted, int features)
    {
        const int batch = 128, steps = 4;
        float[] x = Seeded.Uniform(batch * features, 41);
        var random = new Random(42);
        int[] labels = [.. Enumerable.Range(0, batch).Select(_ => random.Next(units == 1 ? 2 : units))];
        float[] weights = weighted ? [.. Enumerable.Range(0, batch).Select(_ => (float)random.NextDouble())] : [];

        (TrainStepResult[] Results, float[] Parameters, bool ByRows, bool InReduction) Train(int threads)
        {
            var model = new Sequential(features, seed: 5).Add(new Dense(256)).Add(new Relu()).Add(new Dense(units));
            model.Compile(Create(loss), new Adam(1e-2f));
            model.StepThreshold = 1;
            var results = new TrainStepResult[steps];
            bool byRows = true, inReduction = true;
            WithThreads(threads, () =>
            {
                for (int s = 0; s < steps; s++)
                {
                    results[s] = model.TrainStep(x, LossTargets.FromLabels(labels, weights), batch);
                    byRows &= model.LastLossByRows;
                    inReduction &= model.LastOutputRowsInReduction;
                }
            });
            return (results, model.Parameters.ToArray(), byRows, inReduction);
        }

        var expected = Train(1);
        Assert.False(expected.ByRows);
        Assert.False(expected.InReduction);
        var actual = Train(2);

        // Where the output layer takes the 16-column path (512-bit vectors), the rows computed the loss where their
        // threads divide them. The first layer's product (128 x 256, k = 300 in two blocks) divides its k blocks between
        // the two threads, so the output layer's rows go on in its reduction phase, even one unit's; with k = 200, one
        // block, in a region of their own where the output product divides them: 128 rows of 256 against 10 columns are
        // two threads' worth (GemmNarrow.MinFmaPerThread), against 1 column not.
        bool narrow = false, divides = false;
        WithThreads(2, () =>
        {
            narrow = GemmNarrow.Applies(KernelIsaSupport.Best, batch, units);
            divides = GemmNarrow.Threads(batch, units, 256) > 1;
        });
        bool inReduction = narrow && features > GemmPlan.KcMax;
        Assert.Equal(inReduction || (narrow && divides), actual.ByRows);
        Assert.Equal(inReduction, actual.InReduction);
        for (int s = 0; s < steps; s++)
        {
            Assert.Equal(BitConverter.DoubleToInt64Bits(expected.Results[s].Loss), BitConverter.DoubleToInt64Bits(actual.Results[s].Loss));
            Assert.Equal(expected.Results[s], actual.Results[s]);
        }

        AssertBitwiseEqual(expected.Parameters, actual.Parameters, $"{loss}, weighted {weighted}");
    }

    public static TheoryData<string, int, bool> FitCases() => new()
    {
        // hidden layers, batch (of 600 samples: the last batch shorter), whether the output layer's rows go on in the
        // reduction phase of the layer below
        { "128", 128, true },
        { "128", 112, true },
        { "128", 32, true },
        { "256-300", 128, false },
        { "512-256", 96, true },
    };

    [SkippableTheory]
    [MemberData(nameof(FitCases))]
    public void Fit_on_two_threads_gives_the_bits_of_one_with_the_output_rows_in_the_reduction(string hidden, int batch, bool inReduction)
    {
        Skip.IfNot(KernelIsaSupport.IsSupported(KernelIsa.Vector512), "the 512-bit kernels need AVX-512, which this CPU (or DOTNET_EnableAVX512=0) does not offer");

        // Fit keeps the first layer in panel order; its product's reduction phase then computes the output layer's rows
        // and their loss. In 784-256-300-10 the layer under the output reads 256 inputs (one k block: no reduction
        // phase, so the output layer divides its rows in a region of its own); in 784-512-256-10 it reads 512 (two).
        const int features = 784, samples = 600;
        var random = new Random(61);
        byte[] bytes = new byte[samples * features];
        for (int i = 0; i < bytes.Length; i++)
        {
            bytes[i] = random.Next(5) == 0 ? (byte)random.Next(1, 256) : (byte)0;
        }

        int[] labels = [.. Enumerable.Range(0, samples).Select(_ => random.Next(10))];
        (float[] Parameters, double[] Losses, double[] Accuracy, bool InReduction) Train(int threads)
        {
            var model = new Sequential(features, seed: 9);
            foreach (string units in hidden.Split('-'))
            {
                model.Add(new Dense(int.Parse(units, System.Globalization.CultureInfo.InvariantCulture))).Add(new Relu());
            }

            model.Add(new Dense(10)).Compile(new SoftmaxCrossEntropy(), new Adam(1e-3f));
            model.StepThreshold = 1;
            var seen = new RowsInReduction();
            History history = null!;
            WithThreads(threads, () =>
            {
                history = model.Fit(Dataset.FromBytes(bytes, labels, features, 255f), new FitOptions
                {
                    Epochs = 2,
                    BatchSize = batch,
                    Seed = 3,
                    MeasureStepThreads = false,
                    Callbacks = [seen],
                });
            });
            return (model.Parameters.ToArray(), [.. history.Loss], [.. history.Accuracy], seen.Seen);
        }

        var expected = Train(1);
        var actual = Train(2);
        Assert.False(expected.InReduction);
        Assert.Equal(inReduction, actual.InReduction);
        AssertBitwiseEqual(expected.Parameters, actual.Parameters, $"{hidden}, batch {batch}");
        Assert.Equal(expected.Losses.Select(BitConverter.DoubleToInt64Bits), actual.Losses.Select(BitConverter.DoubleToInt64Bits));
        Assert.Equal(expected.Accuracy, actual.Accuracy);
    }

    // Whether any step of a Fit computed the output layer's rows in the reduction phase below. It reads a flag, not the
    // weights, so Fit keeps the first layer in panel order.
    private sealed class RowsInReduction : Callback
    {
        public bool Seen { get; private set; }

        public override bool ReadsModelBetweenSteps => false;

        public override void OnBatchEnd(int epoch, int batch, TrainStepResult result, TrainingContext context) =>
            Seen |= context.Model.LastOutputRowsInReduction;
    }

    // A loss of one's own: its Row may keep state, so its rows are never computed on several threads at once.
    private sealed class OwnLoss() : CategoricalCrossentropy(fromLogits: true);

    public static TheoryData<string> Fallbacks() => ["small batch", "owned columns", "own loss"];

    [Theory]
    [MemberData(nameof(Fallbacks))]
    public void Where_the_rows_cannot_compute_the_loss_the_step_computes_it_after_the_product(string which)
    {
        // A batch of 32 rows of 16 against 10 columns is one thread's product, and so is the 32 x 16 x 784 product below
        // it (no reduction phase to go on in); a first layer of 1024 units on two threads has its columns owned, and the
        // 10-class layer is computed in its region; a loss from outside the library.
        (int hidden, int batch, Loss loss) = which switch
        {
            "small batch" => (16, 32, (Loss)new SoftmaxCrossEntropy()),
            "owned columns" => (1024, 128, new SoftmaxCrossEntropy()),
            _ => (256, 128, new OwnLoss()),
        };
        const int features = 784;
        float[] x = Seeded.Uniform(batch * features, 51);
        for (int i = 0; i < x.Length; i += 2)
        {
            x[i] = 0f;
        }

        int[] labels = [.. Enumerable.Range(0, batch).Select(i => (i * 7) % 10)];

        (TrainStepResult Result, float[] Parameters, bool ByRows) Train(int threads)
        {
            var model = new Sequential(features, seed: 7).Add(new Dense(hidden)).Add(new Relu()).Add(new Dense(10));
            model.Compile(loss, new Adam(1e-2f));
            model.StepThreshold = 1;
            TrainStepResult result = default;
            bool byRows = false;
            WithThreads(threads, () =>
            {
                if (which == "owned columns")
                {
                    // Fit keeps the first layer's weights in panel order, whose columns two threads own at 1024 units.
                    byte[] bytes = [.. x.Select(v => (byte)(v * 255))];
                    var history = model.Fit(Dataset.FromBytes(bytes, labels, features, 255f),
                        new FitOptions { Epochs = 1, BatchSize = batch, Seed = 1, MeasureStepThreads = false });
                    result = new TrainStepResult(history.Loss[^1], 0, batch, 0);
                }
                else
                {
                    result = model.TrainStep(x, labels, batch);
                    result = model.TrainStep(x, labels, batch);
                }

                byRows = model.LastLossByRows;
            });
            return (result, model.Parameters.ToArray(), byRows);
        }

        var expected = Train(1);
        var actual = Train(2);
        Assert.False(actual.ByRows);
        Assert.Equal(expected.Result, actual.Result);
        AssertBitwiseEqual(expected.Parameters, actual.Parameters, which);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_loss_of_a_two_thread_step_is_the_loss_evaluate_gives(string loss, int units, bool weighted, int features)
    {
        // Fix 6d on the threaded path: the loss the threads sum from their rows (in row order) is the one computation
        // Evaluate makes over the whole batch, as TargetsTests.The_training_loss_and_the_evaluation_loss_are_one_computation
        // checks on one thread. Evaluate runs on a twin of the model, whose weights are those the step started from.
        const int batch = 128;
        float[] x = Seeded.Uniform(batch * features, 45);
        var random = new Random(46);
        int[] labels = [.. Enumerable.Range(0, batch).Select(_ => random.Next(units == 1 ? 2 : units))];
        float[] weights = weighted ? [.. Enumerable.Range(0, batch).Select(_ => (float)random.NextDouble())] : [];

        Sequential Model()
        {
            var model = new Sequential(features, seed: 9).Add(new Dense(256)).Add(new Relu()).Add(new Dense(units));
            model.Compile(Create(loss), new Adam(1e-2f));
            model.StepThreshold = 1;
            return model;
        }

        Sequential trained = Model(), evaluated = Model();
        AssertBitwiseEqual(trained.Parameters.ToArray(), evaluated.Parameters.ToArray(), "twins");
        TrainStepResult step = default;
        Evaluation evaluation = default;
        bool byRows = false, narrow = false, divides = false;
        WithThreads(2, () =>
        {
            step = trained.TrainStep(x, LossTargets.FromLabels(labels, weights), batch);
            byRows = trained.LastLossByRows;
            narrow = GemmNarrow.Applies(KernelIsaSupport.Best, batch, units);
            divides = GemmNarrow.Threads(batch, units, 256) > 1;
            evaluation = evaluated.Evaluate(new Dataset(x, labels, features).WithSampleWeights(weighted ? weights : null), batchSize: batch);
        });

        // Where the output layer takes the 16-column path (512-bit vectors), the threads computed the loss on their rows
        // (Two_threads_give_the_loss_count_and_update_of_one says where); elsewhere this is the one-thread check again.
        Assert.Equal(narrow && (features > GemmPlan.KcMax || divides), byRows);
        Assert.Equal(BitConverter.DoubleToInt64Bits(evaluation.Loss), BitConverter.DoubleToInt64Bits(step.Loss));
        Assert.Equal(evaluation.Accuracy, step.Accuracy);
    }

    [Fact]
    public void A_negative_sample_weight_is_refused_before_anything_changes()
    {
        const int features = 300, batch = 128;
        float[] x = Seeded.Uniform(batch * features, 44);
        int[] labels = [.. Enumerable.Range(0, batch).Select(i => i % 10)];
        float[] weights = [.. Enumerable.Repeat(1f, batch)];
        weights[77] = -1f;
        var model = new Sequential(features, seed: 8).Add(new Dense(256)).Add(new Relu()).Add(new Dense(10));
        model.Compile(new SoftmaxCrossEntropy(), new Adam(1e-2f));
        model.StepThreshold = 1;
        float[] before = model.Parameters.ToArray();
        WithThreads(2, () =>
        {
            var e = Assert.Throws<ArgumentException>(() => model.TrainStep(x, LossTargets.FromLabels(labels, weights), batch));
            Assert.Contains("77", e.Message);
        });
        AssertBitwiseEqual(before, model.Parameters.ToArray(), "parameters after the refused step");
    }

    [Fact]
    public void A_label_out_of_range_is_refused_before_anything_changes()
    {
        float[] x = Seeded.Uniform(128 * 200, 43);
        int[] labels = [.. Enumerable.Range(0, 128).Select(i => i % 10)];
        labels[37] = 10;
        var model = new Sequential(200, seed: 6).Add(new Dense(256)).Add(new Relu()).Add(new Dense(10));
        model.Compile(new SoftmaxCrossEntropy(), new Adam(1e-2f));
        model.StepThreshold = 1;
        float[] before = model.Parameters.ToArray();
        WithThreads(2, () =>
        {
            var e = Assert.Throws<ArgumentException>(() => model.TrainStep(x, labels, 128));
            Assert.Contains("37", e.Message);
        });
        AssertBitwiseEqual(before, model.Parameters.ToArray(), "parameters after the refused step");
    }
}
