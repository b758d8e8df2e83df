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

        // Trainable again, so that the layer gets gradients: the optimizer itself must not skip it any more.
        model.Layers[0].Trainable(true);
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
        // The affine maps alone: one fixed case, measured 7.9e-6 (AVX-512 and AVX2) and 1.1e-5 (scalar) on 2026-12-06;
        // bound = 4.5 × 1.1e-5.
        Assert.True(check.MaxError < 5e-5, check.ToString());
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

    public static TheoryData<string> Stacks => ["dense relu dense", "head above a frozen middle", "prelu above a frozen base", "batch norm above a frozen base", "mnist first layer", "all frozen"];

    private static Sequential Stack(string stack, ulong seed) => stack switch
    {
        "dense relu dense" => new Sequential(4, seed).Add(new Dense(8)).Add(new Relu()).Add(new Dense(3)),
        "head above a frozen middle" => new Sequential(4, seed).Add(new Dense(8)).Add(new Relu()).Add(new Dense(6)).Add(new Relu()).Add(new Dense(3)),
        "prelu above a frozen base" => new Sequential(4, seed).Add(new Dense(8)).Add(new PRelu()).Add(new Dense(3)),
        "batch norm above a frozen base" => new Sequential(4, seed).Add(new Dense(8)).Add(new BatchNormalization()).Add(new Relu()).Add(new Dense(3)),
        "mnist first layer" => new Sequential(784, seed).Add(new Dense(128)).Add(new Relu()).Add(new Dense(10)),
        _ => new Sequential(4, seed).Add(new Dense(8)).Add(new Relu()).Add(new Dense(3)),
    };

    // The layers each stack freezes: the base (index 0), or the middle one of the deeper stack, or all.
    private static int[] Frozen(string stack, int layers) => stack switch
    {
        "head above a frozen middle" => [2],
        "all frozen" => [.. Enumerable.Range(0, layers)],
        _ => [0],
    };

    [Theory]
    [MemberData(nameof(Stacks))]
    public void A_frozen_layer_gets_no_gradient_and_the_others_get_the_same_bits(string stack)
    {
        // As Keras takes no gradient for variables that are not trainable: the frozen layers' gradients read 0 (the
        // backward pass stops below the lowest layer that trains), and every other layer's are bitwise those of the same
        // model with nothing frozen.
        Sequential reference = Stack(stack, 5), model = Stack(stack, 5);
        reference.Compile(new SoftmaxCrossEntropy(), new Adam());
        model.Compile(new SoftmaxCrossEntropy(), new Adam());
        int features = model.InputSize, classes = model.OutputSize;
        float[] x = Seeded.Uniform(32 * features, 9, 2f);
        int[] y = [.. Enumerable.Range(0, 32).Select(i => i % classes)];

        // Gradients first computed with everything trainable: freezing must not leave them behind.
        model.ComputeGradients(x, y, 32);
        int[] frozen = Frozen(stack, model.Layers.Count);
        foreach (int f in frozen)
        {
            model.Layers[f].Trainable(false);
        }

        TrainStepResult expected = reference.ComputeGradients(x, y, 32), actual = model.ComputeGradients(x, y, 32);
        Assert.Equal(expected.Loss, actual.Loss);
        for (int i = 0; i < model.Layers.Count; i++)
        {
            float[] gradients = model.Layers[i].Gradients.ToArray();
            if (frozen.Contains(i))
            {
                Assert.All(gradients, g => Assert.Equal(0f, g));
            }
            else
            {
                Assert.Equal(reference.Layers[i].Gradients.ToArray(), gradients);
            }
        }

        // Trainable again: the layers get their gradients back at the next computation.
        foreach (int f in frozen)
        {
            model.Layers[f].Trainable(true);
        }

        model.ComputeGradients(x, y, 32);
        Assert.Equal(reference.Gradients.ToArray(), model.Gradients.ToArray());
    }

    [Fact]
    public void A_frozen_layers_regularizer_adds_nothing_to_the_loss_nor_to_its_gradients()
    {
        // Keras 3 counts the regularizers of trainable variables only: with the regularized layer frozen, the loss and
        // every gradient are those of the model without the regularizer, bitwise; trainable again, the penalty is back.
        var (x, y) = Data(16);
        Sequential Build(bool regularized)
        {
            var model = new Sequential(4, seed: 3).Add(new Dense(8) { KernelRegularizer = regularized ? new Regularizer(0.01f, 0.1f) : null })
                .Add(new Relu()).Add(new Dense(3) { KernelRegularizer = regularized ? new Regularizer(0f, 0.05f) : null });
            model.Compile(new SoftmaxCrossEntropy(), new Adam());
            model.Layers[0].Trainable(false);
            model.Layers[2].Trainable(false);
            return model;
        }

        Sequential plain = Build(regularized: false), regularized = Build(regularized: true);
        Assert.Equal(plain.ComputeGradients(x, y, 16).Loss, regularized.ComputeGradients(x, y, 16).Loss);
        Assert.Equal(plain.TrainStep(x, y, 16).Loss, regularized.TrainStep(x, y, 16).Loss);
        Assert.Equal(plain.Parameters.ToArray(), regularized.Parameters.ToArray());
        Assert.Equal(plain.Evaluate(x, y, 16).Loss, regularized.Evaluate(x, y, 16).Loss);

        regularized.Layers[2].Trainable(true);
        plain.Layers[2].Trainable(true);
        Assert.True(regularized.ComputeGradients(x, y, 16).Loss > plain.ComputeGradients(x, y, 16).Loss + 1e-3, "the trainable layer's penalty joins the loss");
    }

    [Fact]
    public void The_gradient_check_of_a_model_checks_the_layers_that_train()
    {
        var (x, y) = Data(8);
        Sequential model = Model(new Sgd(0.1f));
        model.Layers[0].Trainable(false);
        GradientCheckResult result = GradientChecker.CheckModel(model, x, y, 8, step: 1e-3f, floor: 1e-2);
        Assert.Equal(model.Layers[2].ParameterCount, result.Checked);
        Assert.True(result.MaxParameterError < 1e-2, result.Worst);
        Assert.DoesNotMatch(@"parameter\[([0-9]|[1-3][0-9])\]", result.Worst);
    }

    [Fact]
    public void The_gradient_check_of_a_model_with_no_layer_that_trains_is_refused_rather_than_passed()
    {
        var (x, y) = Data(8);
        Sequential model = Model(new Sgd(0.1f));
        model.Layers[0].Trainable(false);
        model.Layers[2].Trainable(false);
        var error = Assert.Throws<InvalidOperationException>(() => GradientChecker.CheckModel(model, x, y, 8));
        Assert.Contains("no parameter that trains", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_frozen_base_layers_gradients_read_0_after_every_ComputeGradients_even_when_written_between()
    {
        Sequential model = Model(new Sgd(0.1f));
        var frozen = (Dense)model.Layers[0];
        frozen.Trainable = false;
        var (x, y) = Data(16);
        model.ComputeGradients(x, y, 16);
        Assert.All(frozen.Gradients.ToArray(), g => Assert.Equal(0f, g));

        // A loop of one's own may write the gradients (noise, its own clipping) between two calls.
        model.Gradients.Span.Fill(1f);
        model.ComputeGradients(x, y, 16);
        Assert.All(frozen.Gradients.ToArray(), g => Assert.Equal(0f, g));
    }
}

internal static class TrainableExtensions
{
    // Tests freeze layers through the model's list (ILayer), as a user holding the model would.
    public static void Trainable(this ILayer layer, bool trainable) => ((Layer)layer).Trainable = trainable;
}
