using NeuralCore.Diagnostics;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Serialization;
using NeuralCore.Tests.Serialization;
using NeuralCore.Training;

namespace NeuralCore.Tests.Models;

/// <summary><see cref="Layer.Trainable"/>: Keras's <c>layer.trainable = False</c>, for fine-tuning.</summary>
public sealed class TrainableTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("neuralcore-trainable-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static (float[] X, int[] Y) Data(int count = 64)
    {
        float[] x = Seeded.Uniform(count * 4, 3, 2f);
        int[] y = [.. Enumerable.Range(0, count).Select(i => (x[i * 4] > 0 ? 1 : 0) + (x[(i * 4) + 1] > 0 ? 1 : 0))];
        return (x, y);
    }

    private static Sequential Model(IOptimizer optimizer, ulong seed = 7)
    {
        var model = new Sequential(4, seed).Add(new Dense(8)).Add(new Relu()).Add(new Dense(3));
        model.Compile(new SoftmaxCrossEntropy(), optimizer);
        return model;
    }

    [Fact]
    public void A_frozen_layer_keeps_its_parameters_and_optimizer_state_bitwise_while_the_others_train()
    {
        var adam = new Adam(0.01f) { WeightDecay = 0.05f };
        Sequential model = Model(adam);
        var frozen = (Dense)model.Layers[0];
        frozen.Trainable = false;
        float[] before = frozen.Parameters.ToArray(), headBefore = model.Layers[2].Parameters.ToArray();

        var (x, y) = Data();
        model.Fit(x, y, new FitOptions { Epochs = 3, BatchSize = 16 });

        // Weight decay, Adam's moments and the update all leave the frozen layer alone; the head trains.
        Assert.Equal(before, frozen.Parameters.ToArray());
        Assert.NotEqual(headBefore, model.Layers[2].Parameters.ToArray());
        int count = frozen.ParameterCount, total = model.ParameterCount;
        Assert.All(adam.State.ToArray().AsSpan(0, count).ToArray(), m => Assert.Equal(0f, m));
        Assert.All(adam.State.ToArray().AsSpan(total, count).ToArray(), v => Assert.Equal(0f, v));
        Assert.Contains(adam.State.ToArray().AsSpan(count, total - count).ToArray(), m => m != 0f);

        // Trainable again from the next step on, as the model reads the flag at every step.
        frozen.Trainable = true;
        model.Fit(x, y, new FitOptions { Epochs = 1, BatchSize = 16 });
        Assert.NotEqual(before, frozen.Parameters.ToArray());
    }

    [Fact]
    public void A_frozen_first_layer_of_an_mnist_sized_model_comes_back_bitwise_from_fit()
    {
        // Fit keeps a first layer of this size in its products' panel order during an epoch's steps, with the
        // optimizer's state; a frozen one goes there and back untouched.
        var model = new Sequential(784, seed: 4).Add(new Dense(128)).Add(new Relu()).Add(new Dense(10));
        model.Compile(new SoftmaxCrossEntropy(), new Adam());
        ((Layer)model.Layers[0]).Trainable = false;
        float[] before = model.Layers[0].Parameters.ToArray(), head = model.Layers[2].Parameters.ToArray();
        float[] x = Seeded.Uniform(256 * 784, 8, 1f);
        int[] y = [.. Enumerable.Range(0, 256).Select(i => i % 10)];
        model.Fit(x, y, new FitOptions { Epochs = 2, BatchSize = 64 });
        Assert.Equal(before, model.Layers[0].Parameters.ToArray());
        Assert.NotEqual(head, model.Layers[2].Parameters.ToArray());
    }

    [Fact]
    public void The_optimizer_forgets_the_frozen_layers_after_the_models_step()
    {
        // A loop of one's own updates what it gives the optimizer: the flags of the last TrainStep do not linger.
        var sgd = new Sgd(0.1f);
        Sequential model = Model(sgd);
        model.Layers[0].Trainable(false);
        var (x, y) = Data(16);
        model.TrainStep(x, y, 16);
        float[] frozen = model.Layers[0].Parameters.ToArray();
        model.ComputeGradients(x, y, 16);
        sgd.Update(model.Parameters.Span, model.Gradients.Span);
        Assert.NotEqual(frozen, model.Layers[0].Parameters.ToArray());
    }

    [Fact]
    public void A_global_clip_norm_measures_the_trainable_gradients_only()
    {
        // One SGD step of lr 0.5 with the global norm clipped to 0.01: the head moves by its gradient scaled by
        // 0.01 / (the head's norm), as Keras clips the trainable variables' gradients only.
        var (x, y) = Data(16);
        Sequential reference = Model(new Sgd(0.5f));
        reference.ComputeGradients(x, y, 16);
        int first = reference.Layers[0].ParameterCount;
        float[] headGradients = reference.Gradients.Span[first..].ToArray();
        double norm = Math.Sqrt(headGradients.Sum(g => (double)g * g));
        double allNorm = Math.Sqrt(reference.Gradients.ToArray().Sum(g => (double)g * g));
        Assert.True(allNorm > 1.01 * norm, $"the frozen layer's gradients ({allNorm} against {norm}) must weigh in the norm for the test to tell");

        var sgd = new Sgd(0.5f) { GlobalClipNorm = 0.01f };
        Sequential model = Model(sgd);
        model.Layers[0].Trainable(false);
        float[] head = model.Parameters.Span[first..].ToArray();
        model.TrainStep(x, y, 16);
        float[] moved = model.Parameters.Span[first..].ToArray();
        for (int i = 0; i < head.Length; i++)
        {
            double expected = head[i] - (0.5 * headGradients[i] * 0.01 / norm);
            Assert.True(Math.Abs(moved[i] - expected) <= 1e-6, $"[{i}]: {moved[i]} against {expected}");
        }
    }

    [Fact]
    public void The_flag_is_saved_counted_in_the_summary_and_spares_a_frozen_layers_constraint()
    {
        var model = new Sequential(4, seed: 2).Add(new Dense(8) { KernelConstraint = Constraint.MaxNorm(0.1f) }).Add(new Relu()).Add(new Dense(3));
        model.Compile(new SoftmaxCrossEntropy(), new Adam());
        model.Layers[0].Trainable(false);
        float[] kernel = model.Layers[0].Parameters.ToArray();
        var (x, y) = Data(16);
        model.TrainStep(x, y, 16);
        // Its columns' norms are above 0.1, yet the constraint, which Keras applies with the update, left it alone.
        Assert.Equal(kernel, model.Layers[0].Parameters.ToArray());

        string summary = model.Summary();
        Assert.Contains("Trainable params: 27 (108.00 B)", summary, StringComparison.Ordinal);
        Assert.Contains("Non-trainable params: 40 (160.00 B)", summary, StringComparison.Ordinal);

        string path = Path.Combine(_folder, "frozen.ncm");
        ModelFile.Save(model, path);
        Sequential loaded = ModelFile.Load(path);
        Assert.False(((Layer)loaded.Layers[0]).Trainable);
        Assert.True(((Layer)loaded.Layers[2]).Trainable);
        loaded.TrainStep(x, y, 16);
        Assert.Equal(kernel, loaded.Layers[0].Parameters.ToArray());
    }

    [Fact]
    public void A_frozen_batch_normalization_runs_in_inference_mode_and_its_backward_is_the_affine_maps()
    {
        var model = new Sequential(4, seed: 3).Add(new Dense(6)).Add(new BatchNormalization(momentum: 0.5f)).Add(new Relu()).Add(new Dense(3));
        model.Compile(new SoftmaxCrossEntropy(), new Adam(0.01f));
        var (x, y) = Data();
        model.Fit(x, y, new FitOptions { Epochs = 1, BatchSize = 16 });
        var norm = (BatchNormalization)model.Layers[1];
        norm.Trainable = false;
        float[] mean = norm.MovingMean.ToArray(), variance = norm.MovingVariance.ToArray(), affine = norm.Parameters.ToArray();

        model.Fit(x, y, new FitOptions { Epochs = 2, BatchSize = 16 });
        Assert.Equal(mean, norm.MovingMean.ToArray());
        Assert.Equal(variance, norm.MovingVariance.ToArray());
        Assert.Equal(affine, norm.Parameters.ToArray());

        // In training, the running statistics normalize: the same outputs as inference.
        float[] input = Seeded.Uniform(5 * 6, 9, 2f), training = new float[5 * 6], inference = new float[5 * 6];
        norm.Forward(input, training, 5, training: true);
        norm.Forward(input, inference, 5, training: false);
        Assert.Equal(inference, training);

        GradientCheckResult check = GradientChecker.CheckLayer(norm, input, 5);
        Assert.True(check.MaxError < 1e-2, check.ToString());
        Assert.Equal(mean, norm.MovingMean.ToArray());
    }

    [Fact]
    public void An_optimizer_that_cannot_skip_a_frozen_layer_is_refused_before_the_step()
    {
        // An optimizer of one's own, that updates every parameter it is given.
        var model = Model(new ModelFileTests.UnregisteredSgd());
        model.Layers[0].Trainable(false);
        float[] parameters = model.Parameters.ToArray();
        var (x, y) = Data(16);
        var e = Assert.Throws<InvalidOperationException>(() => model.TrainStep(x, y, 16));
        Assert.StartsWith("Layer 'dense' is not trainable, which only an optimizer derived from Optimizer can honour (UnregisteredSgd", e.Message, StringComparison.Ordinal);
        Assert.Equal(parameters, model.Parameters.ToArray());
    }
}

internal static class TrainableExtensions
{
    // Tests freeze layers through the model's list (ILayer), as a user holding the model would.
    public static void Trainable(this ILayer layer, bool trainable) => ((Layer)layer).Trainable = trainable;
}
