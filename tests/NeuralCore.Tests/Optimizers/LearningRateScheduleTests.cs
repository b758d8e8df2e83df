using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Training;

namespace NeuralCore.Tests.Optimizers;

public class LearningRateScheduleTests
{
    // Keras 3 CosineDecay, evaluated by hand: 0.5·(1 + cos(π·s/d)) scaled between alpha and 1.
    [Theory]
    [InlineData(0, 0.1)]
    [InlineData(25, 0.1 * 0.5 * (1 + 0.70710678118654757))]
    [InlineData(50, 0.05)]
    [InlineData(100, 0)]
    [InlineData(1000, 0)]
    public void Cosine_decay_without_warmup_follows_keras(long step, double expected)
    {
        var schedule = new CosineDecay(0.1f, 100);
        Assert.Equal(expected, schedule.Rate(step), 7);
    }

    [Theory]
    [InlineData(0, 0.01)]
    [InlineData(5, 0.055)]
    [InlineData(10, 0.1)]
    [InlineData(60, 0.1 * ((0.8 * 0.5) + 0.2))]
    [InlineData(110, 0.02)]
    [InlineData(500, 0.02)]
    public void Cosine_decay_warms_up_linearly_then_decays_from_the_target_to_alpha(long step, double expected)
    {
        var schedule = new CosineDecay(0.01f, 100, alpha: 0.2f, warmupTarget: 0.1f, warmupSteps: 10);
        Assert.Equal(expected, schedule.Rate(step), 6);
    }

    [Fact]
    public void Cosine_decay_names_bad_arguments()
    {
        Assert.Equal("decaySteps", Assert.Throws<ArgumentOutOfRangeException>(() => new CosineDecay(0.1f, 0)).ParamName);
        Assert.Equal("alpha", Assert.Throws<ArgumentOutOfRangeException>(() => new CosineDecay(0.1f, 10, alpha: 1.5f)).ParamName);
        Assert.Equal("warmupSteps", Assert.Throws<ArgumentOutOfRangeException>(() => new CosineDecay(0.1f, 10, warmupSteps: 5)).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => new CosineDecay(float.NaN, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CosineDecay(0.1f, 10).Rate(-1));
    }

    [Fact]
    public void The_scheduler_sets_each_steps_rate_and_the_optimizer_uses_it()
    {
        var (x, y) = Training.FitTests.Blobs(64, 3);
        var schedule = new CosineDecay(0.01f, 8);
        var seen = new List<float>();
        var model = new Sequential(2, 4).Add(new Dense(4));
        var adam = new Adam();
        model.Compile(new SoftmaxCrossEntropy(), adam);
        model.Fit(x, y, new FitOptions
        {
            Epochs = 2,
            BatchSize = 16,
            Shuffle = false,
            Callbacks = [new LearningRateScheduler(schedule), new Recorder(seen)],
        });

        // The recorder runs after the scheduler: after step s it sees the rate set for step s + 1.
        Assert.Equal(8, seen.Count);
        for (int s = 0; s < 8; s++)
        {
            Assert.Equal(schedule.Rate(s + 1), seen[s]);
        }

        // Same rates by hand: a model stepped with those rates ends with the same weights.
        var manual = new Sequential(2, 4).Add(new Dense(4));
        var manualAdam = new Adam();
        manual.Compile(new SoftmaxCrossEntropy(), manualAdam);
        for (int s = 0; s < 8; s++)
        {
            manualAdam.LearningRate = schedule.Rate(s);
            int first = (s % 4) * 16;
            manual.TrainStep(x.AsSpan(first * 2, 32), y.AsSpan(first, 16), 16);
        }

        Assert.True(manual.Parameters.Span.SequenceEqual(model.Parameters.Span), "scheduled training differs from stepping by hand");
    }

    [Fact]
    public void Per_epoch_scheduler_gets_keras_epoch_numbers_and_the_current_rate()
    {
        var (x, y) = Training.FitTests.Blobs(32, 5);
        var calls = new List<(int Epoch, float Rate)>();
        var model = new Sequential(2, 4).Add(new Dense(4));
        model.Compile(new SoftmaxCrossEntropy(), new Sgd(new SgdOptions(0.5f)));
        model.Fit(x, y, new FitOptions
        {
            Epochs = 3,
            BatchSize = 32,
            Callbacks = [new LearningRateScheduler((epoch, rate) => { calls.Add((epoch, rate)); return rate / 2; })],
        });
        Assert.Equal([(0, 0.5f), (1, 0.25f), (2, 0.125f)], calls);
        Assert.Equal(0.0625f, model.Optimizer!.LearningRate);
    }

    [Fact]
    public void Learning_rate_rejects_negative_and_non_finite_values()
    {
        var adam = new Adam();
        Assert.Equal(1e-3f, adam.LearningRate);
        Assert.Throws<ArgumentOutOfRangeException>(() => adam.LearningRate = -1e-3f);
        Assert.Throws<ArgumentOutOfRangeException>(() => adam.LearningRate = float.NaN);
        adam.LearningRate = 0f;
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd().LearningRate = float.PositiveInfinity);
    }

    private sealed class Recorder(List<float> seen) : Callback
    {
        public override void OnBatchEnd(int epoch, int batch, TrainStepResult result, TrainingContext context) =>
            seen.Add(context.Model.Optimizer!.LearningRate);
    }
}
