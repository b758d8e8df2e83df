using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Scoring;
using NeuralCore.Serialization;
using NeuralCore.Tests.Training;
using NeuralCore.Training;

namespace NeuralCore.Tests.Losses;

/// <summary>
/// Each of Keras's further losses trains the problem it is for, through Fit, Evaluate and Predict, and a model saved
/// with it evaluates the same after loading.
/// </summary>
public class LossTrainingTests
{
    public static TheoryData<string> Losses() =>
    [
        "hinge", "squared_hinge", "categorical_hinge", "binary_focal", "categorical_focal", "kl_divergence", "poisson", "msle", "mape",
        "cosine",
    ];

    private sealed record Problem(Sequential Model, float[] X, float[]? Targets, int[]? Labels, int Epochs);

    private static Problem Create(string name)
    {
        (float[] x, int[] blobs) = FitTests.Blobs(400, 3);
        int count = blobs.Length;
        var random = new Random(5);
        Sequential Net(int outputs, params ILayer[] tail)
        {
            var model = new Sequential(2, seed: 4).Add(new Dense(16)).Add(new Relu()).Add(new Dense(outputs));
            foreach (ILayer layer in tail)
            {
                model.Add(layer);
            }

            return model;
        }

        float[] Regression(Func<float, float, float> target) =>
            [.. Enumerable.Range(0, count).Select(i => target(x[2 * i], x[(2 * i) + 1]))];

        int[] binary = [.. blobs.Select(c => c % 2)];
        switch (name)
        {
            case "hinge":
                return new(Compiled(Net(1), new Hinge()), x, null, binary, 10);
            case "squared_hinge":
                return new(Compiled(Net(1), new SquaredHinge()), x, null, binary, 10);
            case "categorical_hinge":
                return new(Compiled(Net(4), new CategoricalHinge()), x, null, blobs, 10);
            case "binary_focal":
                return new(Compiled(Net(1), new BinaryFocalCrossentropy(applyClassBalancing: true, alpha: 0.5f, fromLogits: true)), x, null, binary, 10);
            case "categorical_focal":
                return new(Compiled(Net(4), new CategoricalFocalCrossentropy(fromLogits: true)), x, null, blobs, 10);
            case "kl_divergence":
                // Soft targets, as a teacher gives: 0.7 on the class, 0.1 on each other.
                float[] soft = [.. blobs.SelectMany(c => Enumerable.Range(0, 4).Select(j => j == c ? 0.7f : 0.1f))];
                return new(Compiled(Net(4, new Softmax()), new KLDivergence()), x, soft, null, 10);
            case "poisson":
                // Counts drawn at a rate of exp(0.4·x0 + 0.5) (Knuth's method).
                float[] counts = Regression((a, _) =>
                {
                    double limit = Math.Exp(-Math.Exp((0.4 * a) + 0.5)), product = random.NextDouble();
                    int k = 0;
                    while (product > limit)
                    {
                        k++;
                        product *= random.NextDouble();
                    }

                    return k;
                });
                return new(Compiled(Net(1, new Softplus()), new Poisson()), x, counts, null, 20);
            case "msle":
                return new(Compiled(Net(1), new MeanSquaredLogarithmicError()), x, Regression((a, b) => MathF.Exp(0.5f * a) + (0.2f * b * b)), null, 30);
            case "mape":
                return new(Compiled(Net(1), new MeanAbsolutePercentageError()), x, Regression((a, b) => 6 + a + (0.5f * b)), null, 30);
            case "cosine":
                // The direction of each blob's centre, at random lengths: only the direction can be learned.
                float[] directions = [.. Enumerable.Range(0, count).SelectMany(i =>
                {
                    float length = 0.5f + (float)random.NextDouble();
                    return new[] { length * Math.Sign(x[2 * i]), length * Math.Sign(x[(2 * i) + 1]) };
                })];
                return new(Compiled(Net(2), new CosineSimilarity()), x, directions, null, 10);
            default:
                throw new ArgumentException(name, nameof(name));
        }
    }

    private static Sequential Compiled(Sequential model, ILoss loss)
    {
        model.Compile(loss, new Adam(0.02f));
        return model;
    }

    [Theory]
    [MemberData(nameof(Losses))]
    public void The_loss_trains_its_problem_and_survives_save_and_load(string name)
    {
        Problem p = Create(name);
        int count = p.X.Length / 2;
        Evaluation Evaluate(Sequential model) =>
            p.Labels is not null ? model.Evaluate(p.X, p.Labels, count) : model.Evaluate(p.X, p.Targets!, count);
        double before = Evaluate(p.Model).Loss;
        var options = new FitOptions { Epochs = p.Epochs, BatchSize = 32 };
        History history = p.Labels is not null ? p.Model.Fit(p.X, p.Labels, options) : p.Model.Fit(p.X, p.Targets!, options);
        Assert.All(history.Loss, l => Assert.True(double.IsFinite(l), $"{name}: {string.Join(", ", history.Loss)}"));
        Evaluation after = Evaluate(p.Model);

        switch (name)
        {
            case "hinge" or "squared_hinge" or "categorical_hinge" or "binary_focal" or "categorical_focal":
                Assert.True(after.Accuracy > 0.97, $"{name}: accuracy {after.Accuracy}");
                break;
            case "kl_divergence":
                // A perfect student reaches 0; the class is the argmax of the soft target.
                Assert.True(after.Loss < 0.05 && after.Accuracy > 0.97, $"{name}: {after.Loss}, {after.Accuracy}");
                break;
            case "cosine":
                Assert.True(after.Loss < -0.97, $"{name}: {after.Loss}");
                break;
            case "mape":
                Assert.True(after.Loss < 5, $"{name}: {after.Loss}% from {before}%");
                break;
            default:
                Assert.True(after.Loss < 0.7 * before, $"{name}: {before} -> {after.Loss}");
                break;
        }

        if (name == "poisson")
        {
            // The rates it predicts follow the generating ones.
            float[] rates = new float[count];
            p.Model.Predict(p.X, rates, count);
            double error = Enumerable.Range(0, count).Average(i => Math.Abs(rates[i] - Math.Exp((0.4 * p.X[2 * i]) + 0.5)));
            Assert.True(error < 0.35, $"mean rate error {error}");
        }

        string path = Path.Combine(Path.GetTempPath(), $"neuralcore-loss-{name}-{Environment.ProcessId}.ncm");
        try
        {
            ModelFile.Save(p.Model, path);
            Sequential loaded = ModelFile.Load(path);
            Assert.Equal(p.Model.Loss!.GetType(), loaded.Loss!.GetType());
            Assert.Equal(after.Loss, Evaluate(loaded).Loss);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Targets_outside_what_a_loss_reads_are_refused_by_fit_with_the_value_named()
    {
        (float[] x, _) = FitTests.Blobs(4, 1);
        var ex = Assert.Throws<ArgumentException>(() => Compiled(new Sequential(2).Add(new Dense(1)), new MeanSquaredLogarithmicError())
            .Fit(x, [1f, -0.5f, 2f, 0f]));
        Assert.Contains("targets[1, 0] = -0.5", ex.Message, StringComparison.Ordinal);
        Assert.Contains("non-negative", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => Compiled(new Sequential(2).Add(new Dense(1)).Add(new Softplus()), new Poisson())
            .Fit(x, [1f, 2f, -3f, 0f]));
        Assert.Contains("targets[2, 0] = -3", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => Compiled(new Sequential(2).Add(new Dense(1)), new Hinge()).Fit(x, [1f, -1f, 0.5f, 1f]));
        Assert.Contains("-1 or 1", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => Compiled(new Sequential(2).Add(new Dense(2)).Add(new Softmax()), new KLDivergence())
            .Fit(x, [0.5f, 0.5f, 0.2f, 0.2f, 1f, 0f, 0f, 1f]));
        Assert.Contains("sums to 0.4", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("hinge")]
    [InlineData("squared_hinge")]
    public void Hinge_accuracy_on_labels_over_several_outputs_reads_them_as_one_hot_rows(string which)
    {
        // Labels on three outputs are one-hot rows to the loss; the accuracy compared every output with label == 1, so
        // scores of the right sign everywhere (loss 0) scored 5/9 here rather than 1.
        ILoss loss = which == "hinge" ? new Hinge() : new SquaredHinge();
        float[] scores = [2f, -3f, -1.5f, -2f, 1.5f, -4f, -1f, -2f, 3f];
        int[] labels = [0, 1, 2];
        float[] oneHot = [1f, 0f, 0f, 0f, 1f, 0f, 0f, 0f, 1f];
        Assert.Equal(AccuracyKind.Binary, Metrics.AccuracyFor(loss, 3));
        Assert.Equal((9, 9), Metrics.CountCorrect(scores, LossTargets.FromLabels(labels), 3, 3, AccuracyKind.Binary, 0f));
        Assert.Equal((9, 9), Metrics.CountCorrect(scores, LossTargets.FromValues(oneHot), 3, 3, AccuracyKind.Binary, 0f));
        scores[4] = -0.5f; // the second row's own class now scores below 0
        Assert.Equal((8, 9), Metrics.CountCorrect(scores, LossTargets.FromLabels(labels), 3, 3, AccuracyKind.Binary, 0f));

        // Through Evaluate: labels and their one-hot rows give the same accuracy.
        (float[] x, int[] blobs) = FitTests.Blobs(300, 3);
        int classes = blobs.Max() + 1;
        Sequential model = new Sequential(2, seed: 1).Add(new Dense(16, Activation.Relu)).Add(new Dense(classes));
        model.Compile(loss, new Adam(0.05f));
        model.Fit(x, blobs, new FitOptions { Epochs = 5 });
        float[] rows = new float[blobs.Length * classes];
        for (int i = 0; i < blobs.Length; i++)
        {
            rows[(i * classes) + blobs[i]] = 1f;
        }

        Assert.Equal(model.Evaluate(x, rows, blobs.Length).Accuracy, model.Evaluate(x, blobs, blobs.Length).Accuracy);
    }

    [Fact]
    public void Hinge_reads_labels_0_and_1_as_targets_of_minus_1_and_1()
    {
        float[] scores = [0.3f, -2f, 1.5f, 0.8f];
        double[] fromLabels = new double[4], fromSigns = new double[4], fromValues = new double[4];
        new Hinge().PerSample(scores, LossTargets.FromLabels([1, 0, 0, 1]), fromLabels, 4, 1);
        new Hinge().PerSample(scores, LossTargets.FromValues([1f, -1f, -1f, 1f]), fromSigns, 4, 1);
        new Hinge().PerSample(scores, LossTargets.FromValues([1f, 0f, 0f, 1f]), fromValues, 4, 1);
        Assert.Equal([0.7, 0, 2.5, 0.2], fromLabels.Select(v => Math.Round(v, 6)));
        Assert.Equal(fromLabels, fromSigns);
        Assert.Equal(fromLabels, fromValues);
    }

    [Fact]
    public void Focal_settings_out_of_range_are_refused_by_name()
    {
        Assert.Equal("alpha", Assert.Throws<ArgumentOutOfRangeException>(() => new BinaryFocalCrossentropy(alpha: 1.5f)).ParamName);
        Assert.Equal("gamma", Assert.Throws<ArgumentOutOfRangeException>(() => new BinaryFocalCrossentropy(gamma: -1f)).ParamName);
        Assert.Equal("gamma", Assert.Throws<ArgumentOutOfRangeException>(() => new BinaryFocalCrossentropy(gamma: float.NaN)).ParamName);
        Assert.Equal("alpha", Assert.Throws<ArgumentOutOfRangeException>(() => new CategoricalFocalCrossentropy(alpha: 0f)).ParamName);
        Assert.Equal("gamma", Assert.Throws<ArgumentOutOfRangeException>(() => new CategoricalFocalCrossentropy(gamma: float.PositiveInfinity)).ParamName);
        Assert.Equal("labelSmoothing", Assert.Throws<ArgumentOutOfRangeException>(() => new CategoricalFocalCrossentropy(labelSmoothing: 2f)).ParamName);
        Assert.Contains("classAlphas[1]=0", Assert.Throws<ArgumentException>(() => new CategoricalFocalCrossentropy { ClassAlphas = [1f, 0f] }).Message, StringComparison.Ordinal);
        var few = Assert.Throws<ArgumentException>(() => new CategoricalFocalCrossentropy { ClassAlphas = [1f] });
        Assert.Contains("at least two", few.Message, StringComparison.Ordinal);
        Assert.Equal("ClassAlphas", few.ParamName);

        // The checked values cannot be changed afterwards through what the getter returns.
        var checkedAlphas = new CategoricalFocalCrossentropy { ClassAlphas = [1f, 2f, 3f] };
        Assert.False(checkedAlphas.ClassAlphas is float[], "ClassAlphas hands out its array");
        Assert.Throws<NotSupportedException>(() => ((IList<float>)checkedAlphas.ClassAlphas!)[1] = -4f);
        Assert.Equal([1f, 2f, 3f], checkedAlphas.ClassAlphas!);

        // One alpha per class: Compile wants one output per alpha, and the alphas are read back from a model file.
        var model = new Sequential(2, seed: 1).Add(new Dense(4));
        var ex = Assert.Throws<ArgumentException>(() => model.Compile(new CategoricalFocalCrossentropy(fromLogits: true) { ClassAlphas = [1f, 2f, 3f] }, new Adam()));
        Assert.Contains("it has 3 class alphas, one per class, but the model has 4 outputs", ex.Message, StringComparison.Ordinal);
        model.Compile(new CategoricalFocalCrossentropy(fromLogits: true) { ClassAlphas = [1f, 2f, 3f, 0.5f] }, new Adam());
        string path = Path.Combine(Path.GetTempPath(), $"neuralcore-alphas-{Environment.ProcessId}.ncm");
        try
        {
            ModelFile.Save(model, path);
            Assert.Equal([1f, 2f, 3f, 0.5f], ((CategoricalFocalCrossentropy)ModelFile.Load(path).Loss!).ClassAlphas);
        }
        finally
        {
            File.Delete(path);
        }

        // γ = 0 without balancing is the binary cross-entropy; γ = 0 is α times the categorical one.
        float[] logits = [1.5f, -0.3f, -2f, 4f];
        float[] targets = [1f, 0f, 0f, 1f];
        double[] focal = new double[2], plain = new double[2];
        new BinaryFocalCrossentropy(gamma: 0f, fromLogits: true).PerSample(logits, LossTargets.FromValues(targets), focal, 2, 2);
        new BinaryCrossentropy(fromLogits: true).PerSample(logits, LossTargets.FromValues(targets), plain, 2, 2);
        Assert.Equal(plain[0], focal[0], 1e-6);
        Assert.Equal(plain[1], focal[1], 1e-6);
        new CategoricalFocalCrossentropy(alpha: 0.5f, gamma: 0f, fromLogits: true).PerSample(logits, LossTargets.FromLabels([0, 1]), focal, 2, 2);
        new SoftmaxCrossEntropy().PerSample(logits, LossTargets.FromLabels([0, 1]), plain, 2, 2);
        Assert.Equal(0.5 * plain[0], focal[0], 1e-6);
        Assert.Equal(0.5 * plain[1], focal[1], 1e-6);
    }
}
