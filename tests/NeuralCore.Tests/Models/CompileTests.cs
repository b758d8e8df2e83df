using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Tests.Training;
using NeuralCore.Training;

namespace NeuralCore.Tests.Models;

/// <summary>Compile refuses a loss that does not suit the model's output, and says what to change.</summary>
public class CompileTests
{
    private static Sequential Ending(params ILayer[] last)
    {
        var model = new Sequential(4, seed: 1).Add(new Dense(8)).Add(new Relu());
        foreach (ILayer layer in last)
        {
            model.Add(layer);
        }

        return model;
    }

    [Fact]
    public void Softmax_before_a_from_logits_loss_is_refused_with_the_remedy()
    {
        // Before this check, this model trained with softmax applied twice: 93.6% instead of 95.9% on MNIST.
        var ex = Assert.Throws<ArgumentException>(() => Ending(new Dense(3), new Softmax()).Compile(new SoftmaxCrossEntropy(), new Adam()));
        Assert.Contains("'softmax' (Softmax) already outputs probabilities", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Remove the Softmax", ex.Message, StringComparison.Ordinal);
        Assert.Contains("CategoricalCrossentropy(fromLogits: false)", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Ending(new Dense(3, Activation.Softmax)).Compile(new SoftmaxCrossEntropy(), new Adam()));
        Assert.Throws<ArgumentException>(() => Ending(new Dense(1), new Sigmoid()).Compile(new BinaryCrossentropy(fromLogits: true), new Adam()));

        // The right pairs compile.
        Ending(new Dense(3), new Softmax()).Compile(new CategoricalCrossentropy(), new Adam());
        Ending(new Dense(3)).Compile(new SoftmaxCrossEntropy(), new Adam());
        Ending(new Dense(1, Activation.Sigmoid)).Compile(new BinaryCrossentropy(), new Adam());
        Ending(new Dense(1)).Compile(new BinaryCrossentropy(fromLogits: true), new Adam());
    }

    [Fact]
    public void A_noise_layer_after_the_softmax_does_not_hide_it()
    {
        // Before: the check read the last layer only, so Softmax -> Dropout trained with softmax applied twice, and the
        // right pair, Softmax -> Dropout with a probability loss, was refused as raw outputs.
        var ex = Assert.Throws<ArgumentException>(() => Ending(new Dense(3), new Softmax(), new Dropout(0.2f)).Compile(new SoftmaxCrossEntropy(), new Adam()));
        Assert.Contains("'softmax' (Softmax), before the noise layer 'dropout' (Dropout), already outputs probabilities", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Ending(new Dense(3), new Softmax(), new GaussianNoise(0.1f)).Compile(new SoftmaxCrossEntropy(), new Adam()));
        Assert.Throws<ArgumentException>(() => Ending(new Dense(1), new Sigmoid(), new GaussianDropout(0.1f)).Compile(new BinaryCrossentropy(fromLogits: true), new Adam()));
        Assert.Throws<ArgumentException>(() => Ending(new Dense(3), new Softmax(), new Dropout(0.2f)).Compile(new CategoricalHinge(), new Adam()));

        Ending(new Dense(3), new Softmax(), new Dropout(0.2f)).Compile(new CategoricalCrossentropy(), new Adam());
        Ending(new Dense(1), new Sigmoid(), new GaussianDropout(0.1f)).Compile(new BinaryCrossentropy(), new Adam());
        Ending(new Dense(1), new Softplus(), new GaussianDropout(0.1f)).Compile(new Poisson(), new Adam());

        // Additive noise can make a probability negative: not a probability any more.
        ex = Assert.Throws<ArgumentException>(() => Ending(new Dense(3), new Softmax(), new GaussianNoise(0.1f)).Compile(new CategoricalCrossentropy(), new Adam()));
        Assert.Contains("expects probabilities", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_probability_loss_on_raw_outputs_is_refused()
    {
        var ex = Assert.Throws<ArgumentException>(() => Ending(new Dense(3)).Compile(new CategoricalCrossentropy(), new Adam()));
        Assert.Contains("expects probabilities", ex.Message, StringComparison.Ordinal);
        Assert.Contains("End the model with a Softmax layer", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => Ending(new Dense(1)).Compile(new BinaryCrossentropy(), new Adam()));
        Assert.Contains("Sigmoid", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Ending(new Dense(3), new Sigmoid()).Compile(new CategoricalCrossentropy(), new Adam()));
    }

    [Fact]
    public void Poisson_needs_outputs_that_cannot_be_negative()
    {
        // Before the check, a linear output went below -1e-7 on the first steps and the loss turned NaN.
        var ex = Assert.Throws<ArgumentException>(() => Ending(new Dense(1)).Compile(new Poisson(), new Adam()));
        Assert.Contains("rates under a logarithm", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Softplus", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Ending(new Dense(1), new Relu { NegativeSlope = 0.1f }).Compile(new Poisson(), new Adam()));
        Assert.Throws<ArgumentException>(() => Ending(new Dense(1, Activation.Tanh)).Compile(new Poisson(), new Adam()));

        Ending(new Dense(1), new Softplus()).Compile(new Poisson(), new Adam());
        Ending(new Dense(1), new Softplus(), new Dropout(0.2f)).Compile(new Poisson(), new Adam()); // zeros or scaled rates
        Assert.Throws<ArgumentException>(() => Ending(new Dense(1), new Softplus(), new GaussianNoise(0.1f)).Compile(new Poisson(), new Adam()));
        Ending(new Dense(1), new Relu { MaxValue = 6 }).Compile(new Poisson(), new Adam());
        Ending(new Dense(1, Activation.Relu)).Compile(new Poisson(), new Adam());
        Ending(new Dense(3), new Softmax()).Compile(new Poisson(), new Adam());
        Ending(new Dense(1)).Compile(new MeanSquaredLogarithmicError(), new Adam());
    }

    [Fact]
    public void Hinge_losses_refuse_squashed_outputs_and_kl_divergence_needs_a_softmax()
    {
        var ex = Assert.Throws<ArgumentException>(() => Ending(new Dense(1), new Sigmoid()).Compile(new Hinge(), new Adam()));
        Assert.Contains("margin of 1", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Remove the Sigmoid", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("fromLogits", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Ending(new Dense(3, Activation.Softmax)).Compile(new CategoricalHinge(), new Adam()));
        Assert.Throws<ArgumentException>(() => Ending(new Dense(1)).Compile(new CategoricalHinge(), new Adam()));
        ex = Assert.Throws<ArgumentException>(() => Ending(new Dense(3)).Compile(new KLDivergence(), new Adam()));
        Assert.Contains("End the model with a Softmax layer", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("fromLogits", ex.Message, StringComparison.Ordinal); // it has no such setting
        ex = Assert.Throws<ArgumentException>(() => Ending(new Dense(3), new Sigmoid()).Compile(new KLDivergence(), new Adam()));
        Assert.Contains("outputs probabilities in [0, 1], each on its own", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Ending(new Dense(1)).Compile(new BinaryFocalCrossentropy(), new Adam()));
        Assert.Throws<ArgumentException>(() => Ending(new Dense(3), new Softmax()).Compile(new CategoricalFocalCrossentropy(fromLogits: true), new Adam()));

        Ending(new Dense(2)).Compile(new SquaredHinge(), new Adam());
        Ending(new Dense(3)).Compile(new CategoricalHinge(), new Adam());
        Ending(new Dense(3), new Softmax()).Compile(new KLDivergence(), new Adam());
        Ending(new Dense(1)).Compile(new BinaryFocalCrossentropy(fromLogits: true), new Adam());
        Ending(new Dense(3), new Softmax()).Compile(new CategoricalFocalCrossentropy(), new Adam());
    }

    [Fact]
    public void Each_layer_says_what_it_outputs_and_compile_reads_that()
    {
        // HardSigmoid outputs [0, 1]: refused before a BinaryCrossentropy ("outputs raw values") and a Poisson ("can
        // output negative values") by lists of layer types kept in Sequential.
        Ending(new Dense(1), new HardSigmoid()).Compile(new BinaryCrossentropy(), new Adam());
        Ending(new Dense(1), new HardSigmoid()).Compile(new Poisson(), new Adam());
        Ending(new Dense(2), new Softplus()).Compile(new Poisson(), new Adam());
        var ex = Assert.Throws<ArgumentException>(() => Ending(new Dense(1), new Softplus()).Compile(new BinaryCrossentropy(), new Adam()));
        Assert.Contains("outputs values of 0 or more, not probabilities", ex.Message, StringComparison.Ordinal);

        // A layer of one's own that outputs probabilities says so, and is accepted as the built-in ones are.
        Ending(new Dense(1), new Squash(OutputRange.UnitInterval)).Compile(new BinaryCrossentropy(), new Adam());
        Ending(new Dense(3), new Squash(OutputRange.Distribution)).Compile(new CategoricalCrossentropy(), new Adam());
        Assert.Throws<ArgumentException>(() => Ending(new Dense(1), new Squash(OutputRange.Any)).Compile(new BinaryCrossentropy(), new Adam()));
        ex = Assert.Throws<ArgumentException>(() => Ending(new Dense(1), new Squash(OutputRange.UnitInterval)).Compile(new BinaryCrossentropy(fromLogits: true), new Adam()));
        Assert.Contains("Remove the Squash", ex.Message, StringComparison.Ordinal);

        // The function named is the loss's: a binary cross-entropy from logits applies a sigmoid, after a Softmax too
        // (the message said "applies softmax again").
        ex = Assert.Throws<ArgumentException>(() => Ending(new Dense(2), new Softmax()).Compile(new BinaryCrossentropy(fromLogits: true), new Adam()));
        Assert.Contains("applies sigmoid to them", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Remove the Softmax", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => Ending(new Dense(3, Activation.Softmax)).Compile(new SoftmaxCrossEntropy(), new Adam()));
        Assert.Contains("applies softmax to them", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Remove the Dense layer's activation Softmax", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>The identity, declaring whatever output range it is given.</summary>
    private sealed class Squash(OutputRange range) : Layer("squash")
    {
        public override string DefaultName => "squash";

        public override string TypeId => "Squash";

        public override OutputRange OutputRange => range;

        protected override int OnBuild(int inputSize) => inputSize;

        protected override void OnForward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training) => input.CopyTo(output);

        protected override void OnBackward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch) =>
            outputGrad.CopyTo(inputGrad);
    }

    [Fact]
    public void A_categorical_loss_needs_two_outputs_and_training_needs_a_reduction()
    {
        var ex = Assert.Throws<ArgumentException>(() => Ending(new Dense(1)).Compile(new SoftmaxCrossEntropy(), new Adam()));
        Assert.Contains("BinaryCrossentropy with one output", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => Ending(new Dense(2)).Compile(new MeanSquaredError(Reduction.None), new Adam()));
        Assert.Contains("reduction None", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => Ending(new Dense(2)).Compile(new MeanSquaredError(), new Adam(), metrics: ["accuracy", "f1"]));
        Assert.Contains("Unknown metric 'f1'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Regression_targets_given_to_a_classification_loss_are_refused_at_fit()
    {
        var model = Ending(new Dense(2));
        model.Compile(new SoftmaxCrossEntropy(), new Adam());
        float[] x = new float[3 * 4];
        var ex = Assert.Throws<ArgumentException>(() => model.Fit(x, [0.5f, 0.5f, 2f, 7f, 1f, 0f]));
        Assert.Contains("targets[1, 0] = 2", ex.Message, StringComparison.Ordinal);
        Assert.Contains("for regression use MeanSquaredError", ex.Message, StringComparison.Ordinal);

        // Shapes name both sides.
        ex = Assert.Throws<ArgumentException>(() => model.Fit(x, new float[5]));
        Assert.Contains("not a whole number of rows of the model's 2 outputs", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => model.Fit(x, new float[4]));
        Assert.Contains("inputs has shape [3, 4] but targets has shape [2, 2]", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_mnist_pair_of_the_issue_trains_as_intended_once_the_softmax_is_removed()
    {
        (float[] x, int[] y) = FitTests.Blobs(400, 2);
        var model = new Sequential(2, seed: 3).Add(new Dense(16)).Add(new Relu()).Add(new Dense(4));
        model.Compile(new SoftmaxCrossEntropy(), new Adam(0.01f));
        History history = model.Fit(x, y, new FitOptions { Epochs = 5 });
        Assert.True(history.Epochs[^1].Accuracy > 0.95, $"{history.Epochs[^1]}");
    }

    [Fact]
    public void An_optimizer_compiled_into_another_model_is_refused_until_that_model_lets_it_go()
    {
        // Shared, the two models' steps updated one set of moments and one step count (6 after two 3-step epochs)
        // without a word; between models of different sizes the second Fit failed with "adam is initialized for 31
        // parameters but was given 27; call Initialize first."
        var adam = new Adam();
        Sequential first = Ending(new Dense(2)), second = Ending(new Dense(2));
        first.Compile(new SoftmaxCrossEntropy(), adam);
        var e = Assert.Throws<ArgumentException>(() => second.Compile(new SoftmaxCrossEntropy(), adam));
        Assert.Equal("optimizer", e.ParamName);
        Assert.Contains("adam is already compiled into another model", e.Message, StringComparison.Ordinal);
        Assert.False(second.IsCompiled);

        // Compiling the first model with another optimizer frees it; compiling a model with its own again is no sharing.
        first.Compile(new SoftmaxCrossEntropy(), new Sgd());
        second.Compile(new SoftmaxCrossEntropy(), adam);
        second.Compile(new SoftmaxCrossEntropy(), adam, keepOptimizerState: true);
        second.Fit(new float[4 * 3], new int[3], new FitOptions { BatchSize = 1 });
        Assert.Equal(3, adam.Iterations);
    }
}
