using MnistMlp;

namespace NeuralCore.Tests.Samples;

public class MnistMlpCliTests
{
    [Fact]
    public void Defaults_are_what_a_student_wants()
    {
        var (settings, errors) = Cli.Parse();
        Assert.Empty(errors);
        Assert.NotNull(settings);
        Assert.Equal([128], settings.Hidden);
        Assert.Equal(10, settings.Epochs);
        Assert.Equal(32, settings.BatchSize);
        Assert.Equal("adam", settings.Optimizer);
        Assert.Equal(0.001f, settings.EffectiveLearningRate);
        Assert.Equal("crossentropy", settings.Loss);
        Assert.Equal(0.1, settings.ValidationSplit);
        Assert.Equal(0f, settings.Dropout);
    }

    [Fact]
    public void Every_option_is_parsed()
    {
        var (settings, errors) = Cli.Parse("--hidden", "512,256", "--epochs", "3", "--batch-size", "64", "--optimizer", "SGD",
            "--learning-rate", "0.05", "--loss", "mse", "--dropout", "0.2", "--validation-split", "0.25", "--threads", "1",
            "--seed", "7", "--data", "some/dir", "--out", "out/dir");
        Assert.Empty(errors);
        Assert.Equal([512, 256], settings!.Hidden);
        Assert.Equal(3, settings.Epochs);
        Assert.Equal(64, settings.BatchSize);
        Assert.Equal("sgd", settings.Optimizer);
        Assert.Equal(0.05f, settings.EffectiveLearningRate);
        Assert.Equal("mse", settings.Loss);
        Assert.Equal(0.2f, settings.Dropout);
        Assert.Equal(0.25, settings.ValidationSplit);
        Assert.Equal(1, settings.Threads);
        Assert.Equal(7UL, settings.Seed);
        Assert.Equal("some/dir", settings.DataDirectory);
        Assert.Equal("out/dir", settings.OutputDirectory);
        Assert.Equal(0.01f, Cli.Parse("--optimizer", "sgd").Settings!.EffectiveLearningRate);
    }

    [Fact]
    public void The_notebook_preset_reproduces_the_course_setup_and_explicit_options_win()
    {
        var (settings, _) = Cli.Parse("--preset", "notebook");
        Assert.Equal([16], settings!.Hidden);
        Assert.Equal("mse", settings.Loss);
        Assert.Equal("adam", settings.Optimizer);
        Assert.Equal(5, settings.Epochs);
        Assert.Equal(100, settings.BatchSize);
        Assert.Equal(0.2, settings.ValidationSplit);

        var (overridden, _) = Cli.Parse("--preset", "notebook", "--epochs", "8");
        Assert.Equal(8, overridden!.Epochs);
        Assert.Equal([16], overridden.Hidden);
    }

    [Fact]
    public void The_fast_preset_is_the_measured_recipe_and_its_schedule_covers_every_step()
    {
        var (settings, _) = Cli.Parse("--preset", "fast");
        Assert.Equal([640], settings!.Hidden);
        Assert.Equal(3, settings.Epochs);
        Assert.Equal(128, settings.BatchSize);
        Assert.Equal(3e-3f, settings.EffectiveLearningRate);
        Assert.Equal("cosine", settings.Schedule);
        Assert.Equal(0.1, settings.Warmup);
        Assert.Equal(0, settings.ValidationSplit);

        // 3 epochs of 469 steps: 140 warm up from 3e-4 to 3e-3, then the rate decays towards 0.
        var schedule = Trainer.CosineSchedule(settings, 60_000);
        Assert.Equal(140, schedule.WarmupSteps);
        Assert.Equal(1407 - 140, schedule.DecaySteps);
        Assert.Equal(3e-4f, schedule.Rate(0), 6);
        Assert.Equal(3e-3f, schedule.Rate(140), 6);
        Assert.True(schedule.Rate(1406) < 1e-8f);

        var (constant, _) = Cli.Parse("--preset", "fast", "--schedule", "constant", "--hidden", "64");
        Assert.Equal("constant", constant!.Schedule);
        Assert.Equal([64], constant.Hidden);
    }

    [Theory]
    [InlineData("--epochs", "0", "--epochs must be an integer from 1")]
    [InlineData("--epochs", "ten", "got 'ten'")]
    [InlineData("--batch-size", "-5", "--batch-size must be an integer")]
    [InlineData("--hidden", "128,x", "--hidden takes layer sizes")]
    [InlineData("--hidden", "0", "--hidden takes layer sizes")]
    [InlineData("--optimizer", "rmsprop", "--optimizer must be one of adam, sgd")]
    [InlineData("--loss", "hinge", "--loss must be one of crossentropy, mse")]
    [InlineData("--learning-rate", "-1", "--learning-rate must be a number in (0, 10]")]
    [InlineData("--learning-rate", "NaN", "--learning-rate must be")]
    [InlineData("--dropout", "1", "--dropout must be a number in [0, 1)")]
    [InlineData("--validation-split", "1.5", "--validation-split must be a number in [0, 0.99]")]
    [InlineData("--dropout", "0.99999999", "--dropout must be a number in [0, 1)")]
    [InlineData("--threads", "-1", "--threads must be an integer from 0")]
    [InlineData("--seed", "-3", "--seed must be a non-negative integer")]
    [InlineData("--preset", "keras", "--preset must be notebook or fast")]
    [InlineData("--schedule", "step", "--schedule must be one of constant, cosine")]
    [InlineData("--warmup", "0.9", "--warmup must be a number in [0, 0.5]")]
    public void Invalid_values_are_rejected_with_a_message_naming_the_option(string option, string value, string message)
    {
        var (settings, errors) = Cli.Parse(option, value);
        Assert.Null(settings);
        Assert.Contains(errors, e => e.Contains(message, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(new string[0], new[] { 16, 64, 128, 512, 1024 })]
    [InlineData(new[] { "--hidden", "32,256" }, new[] { 32, 256 })]
    public void Sweep_uses_the_given_sizes_or_the_default_list(string[] extra, int[] expected)
    {
        IReadOnlyList<int>? sizes = null;
        var root = Cli.Build((_, _) => 0, (_, s, _) => { sizes = s; return 0; }, (_, _, _) => 0);
        Assert.Equal(0, root.Parse(["sweep", .. extra]).Invoke());
        Assert.Equal(expected, sizes);
    }

    [Fact]
    public void Unknown_options_are_rejected()
    {
        var (settings, errors) = Cli.Parse("--epoch", "3");
        Assert.Null(settings);
        Assert.NotEmpty(errors);
    }

    [Fact]
    public void Overfitting_judgement_reads_the_trends()
    {
        var rising = History((0.30, 0.20), (0.20, 0.15), (0.10, 0.16), (0.05, 0.19));
        Assert.Contains("Yes, it overfits after epoch 2", RunReport.Overfitting(rising), StringComparison.Ordinal);
        var falling = History((0.30, 0.20), (0.20, 0.15), (0.15, 0.12));
        Assert.Contains("No sign of overfitting", RunReport.Overfitting(falling), StringComparison.Ordinal);
    }

    private static NeuralCore.Training.History History(params (double Loss, double ValLoss)[] epochs)
    {
        var history = new NeuralCore.Training.History();
        for (int i = 0; i < epochs.Length; i++)
        {
            history.Add(new NeuralCore.Training.EpochMetrics(i + 1, epochs[i].Loss, 1 - epochs[i].Loss, epochs[i].ValLoss, 1 - epochs[i].ValLoss, 1));
        }

        return history;
    }
}
