using System.CommandLine;
using MnistMlp;
using NeuralCore.Layers;
using NeuralCore.Models;
using NeuralCore.Optimizers;

namespace NeuralCore.Samples.Tests;

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
        Assert.Equal(0f, settings.L2);
    }

    [Fact]
    public void Every_option_is_parsed()
    {
        var (settings, errors) = Cli.Parse("--hidden", "512,256", "--epochs", "3", "--batch-size", "64", "--optimizer", "SGD",
            "--learning-rate", "0.05", "--loss", "mse", "--dropout", "0.2", "--max-norm", "3", "--l2", "1e-4", "--validation-split", "0.25", "--threads", "1",
            "--seed", "7", "--data", "some/dir", "--out", "out/dir", "--initializer", "He_Normal");
        Assert.Empty(errors);
        Assert.Equal([512, 256], settings!.Hidden);
        Assert.Equal(3, settings.Epochs);
        Assert.Equal(64, settings.BatchSize);
        Assert.Equal("sgd", settings.Optimizer);
        Assert.Equal(0.05f, settings.EffectiveLearningRate);
        Assert.Equal("mse", settings.Loss);
        Assert.Equal(0.2f, settings.Dropout);
        Assert.Equal(1e-4f, settings.L2);
        Assert.All(Trainer.BuildModel(settings).Layers.OfType<Dense>(), d => Assert.Equal(1e-4f, d.KernelRegularizer!.L2Factor));
        Assert.All(Trainer.BuildModel(settings with { L2 = 0 }).Layers.OfType<Dense>(), d => Assert.Null(d.KernelRegularizer));
        Assert.Contains("--l2", Cli.Parse("--l2", "-1").Errors.Single(), StringComparison.Ordinal);

        // --max-norm caps every hidden unit's incoming weights (Keras's MaxNorm), not the output layer's.
        Assert.Equal(3f, settings.MaxNorm);
        Dense[] dense = [.. Trainer.BuildModel(settings).Layers.OfType<Dense>()];
        Assert.All(dense[..^1], d => Assert.Equal("MaxNorm(3, axis=0)", d.KernelConstraint!.ToString()));
        Assert.Null(dense[^1].KernelConstraint);
        Assert.All(Trainer.BuildModel(settings with { MaxNorm = 0 }).Layers.OfType<Dense>(), d => Assert.Null(d.KernelConstraint));
        Assert.Equal(0f, Cli.Parse().Settings!.MaxNorm);
        Assert.Contains("--max-norm must be 0, or a number in (0, 1000]", Cli.Parse("--max-norm", "-1").Errors.Single(), StringComparison.Ordinal);
        Assert.Contains("--max-norm must be 0, or a number in (0, 1000]", Cli.Parse("--max-norm", "1e-50").Errors.Single(), StringComparison.Ordinal);
        // --initializer sets the hidden layers' kernels (Keras's names); the output layer keeps Glorot-uniform.
        Assert.Equal("he_normal", settings.Initializer);
        Assert.All(dense[..^1], d => Assert.Equal(Initializer.HeNormal().ToString(), d.KernelInitializer.ToString()));
        Assert.Equal("GlorotUniform()", dense[^1].KernelInitializer.ToString());
        Assert.All(Trainer.BuildModel(settings with { Initializer = "orthogonal" }).Layers.OfType<Dense>().SkipLast(1),
            d => Assert.Equal("Orthogonal(1)", d.KernelInitializer.ToString()));
        Assert.Equal("glorot_uniform", Cli.Parse().Settings!.Initializer);
        Assert.Contains("--initializer must be one of glorot_uniform, glorot_normal, he_normal, he_uniform, lecun_normal, orthogonal; got 'xavier'",
            Cli.Parse("--initializer", "xavier").Errors.Single(), StringComparison.Ordinal);
        Assert.Equal(0.25, settings.ValidationSplit);
        Assert.Equal(1, settings.Threads);
        Assert.Equal(7UL, settings.Seed);
        Assert.Equal("some/dir", settings.DataDirectory);
        Assert.Equal("out/dir", settings.OutputDirectory);
        Assert.Equal(0.01f, Cli.Parse("--optimizer", "sgd").Settings!.EffectiveLearningRate);

        // --normalization puts one after each hidden Dense, before its ReLU.
        Assert.Equal("none", settings.Normalization);
        Sequential batch = Trainer.BuildModel(Cli.Parse("--hidden", "32,16", "--normalization", "batch").Settings!);
        Assert.Equal(["Dense", "BatchNormalization", "ReLU", "Dense", "BatchNormalization", "ReLU", "Dense"], batch.Layers.Select(l => l.TypeId));
        Sequential layer = Trainer.BuildModel(Cli.Parse("--hidden", "32", "--normalization", "layer").Settings!);
        Assert.Equal(["Dense", "LayerNormalization", "ReLU", "Dense"], layer.Layers.Select(l => l.TypeId));
    }

    [Theory]
    [InlineData("adam", 1e-3f, 2)]
    [InlineData("sgd", 1e-2f, 0)]
    [InlineData("rmsprop", 1e-3f, 1)]
    [InlineData("adagrad", 0.1f, 1)]
    [InlineData("adadelta", 1f, 2)]
    [InlineData("adamax", 1e-3f, 2)]
    [InlineData("nadam", 1e-3f, 2)]
    [InlineData("lion", 1e-4f, 1)]
    [InlineData("lamb", 1e-3f, 2)]
    [InlineData("adafactor", 1e-2f, 2)]
    public void Every_optimizer_is_offered_with_its_default_rate_and_built_by_that_name(string name, float rate, int slots)
    {
        Assert.Equal(slots, TrainerOptimizers.Get(name).StateSlots);
        TrainSettings settings = Cli.Parse("--optimizer", name.ToUpperInvariant()).Settings!;
        Assert.Equal(rate, settings.EffectiveLearningRate);
        IOptimizer optimizer = Trainer.BuildModel(settings with { Hidden = [8] }).Optimizer!;
        Assert.Equal(name, optimizer.Name);
        Assert.Equal(rate, optimizer.LearningRate);
        Assert.Equal(0.05f, Trainer.BuildModel(Cli.Parse("--optimizer", name, "--learning-rate", "0.05").Settings! with { Hidden = [8] }).Optimizer!.LearningRate);
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

        // Case-insensitive, as every other choice is (it was refused while --optimizer Adam was taken).
        var (capital, errors) = Cli.Parse("--preset", "Notebook");
        Assert.Empty(errors);
        Assert.Equal([16], capital!.Hidden);
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
        Assert.Equal(0, constant.Warmup); // the preset's warmup went with its cosine schedule (report.json recorded 0.1)

        // A warmup with no cosine schedule to warm up was accepted and ignored: refused, on its own and beside a preset.
        foreach (string[] args in new[] { new[] { "--warmup", "0.2" }, ["--preset", "fast", "--schedule", "constant", "--warmup", "0.2"], ["sweep", "--warmup", "0.1"] })
        {
            var root = Cli.Build((_, _) => 0, (_, _, _) => 0, (_, _, _, _) => 0);
            Assert.Contains(root.Parse(args).Errors, e => e.Message == "--warmup applies only with --schedule cosine; the schedule here is constant.");
        }

        Assert.Empty(Cli.Parse("--schedule", "cosine", "--warmup", "0.2").Errors);
        Assert.Empty(Cli.Parse("--preset", "fast", "--warmup", "0.2").Errors);

        // The preset's 3e-3 is Adam's: another optimizer beside it starts from that optimizer's own default (SGD kept
        // 3e-3 and reached 48.6% in a review), unless a rate is given too.
        Assert.Equal(0.01f, Cli.Parse("--preset", "fast", "--optimizer", "sgd").Settings!.EffectiveLearningRate);
        Assert.Equal(0.2f, Cli.Parse("--preset", "fast", "--optimizer", "sgd", "--learning-rate", "0.2").Settings!.EffectiveLearningRate);
        Assert.Equal(3e-3f, Cli.Parse("--preset", "fast", "--optimizer", "adam").Settings!.EffectiveLearningRate);
    }

    [Fact]
    public void Sweep_refuses_archs_and_hidden_together()
    {
        // --archs replaced --hidden without a word: "sweep --hidden 64 --archs 16 128" ran 16 and 128 only.
        var root = Cli.Build((_, _) => 0, (_, _, _) => 0, (_, _, _, _) => 0);
        foreach (string[] args in new[] { new[] { "sweep", "--hidden", "64", "--archs", "16", "128" }, ["sweep", "--archs", "16", "--hidden", "64"] })
        {
            Assert.Contains(root.Parse(args).Errors,
                e => e.Message == "sweep takes --archs (the architectures to compare) or --hidden (one architecture), not both.");
        }

        Assert.Empty(root.Parse(["sweep", "--archs", "16", "128"]).Errors);
        Assert.Empty(root.Parse(["sweep", "--hidden", "64"]).Errors);
    }

    [Fact]
    public void Hidden_given_twice_is_refused_rather_than_stacked()
    {
        var (settings, errors) = Cli.Parse("--hidden", "512", "--hidden", "16");
        Assert.Null(settings);
        Assert.Contains(errors, e => e.Contains("--hidden was given 2 times (512, 16); give it once", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("--hidden", "evaluate", "--model", "m.ncm", "--hidden", "999")]
    [InlineData("--onnx", "evaluate", "--model", "m.ncm", "--onnx")]
    [InlineData("--epochs", "verify", "--epochs", "5")]
    [InlineData("--onnx", "sweep", "--onnx")]
    public void Each_command_refuses_the_options_it_would_ignore(string ignored, params string[] args)
    {
        // Recursive options were accepted, listed in --help and ignored by every subcommand.
        var root = Cli.Build((_, _) => 0, (_, _, _) => 0, (_, _, _, _) => 0, _ => 0);
        Assert.Contains(root.Parse(args).Errors, e => e.Message.Contains($"Unrecognized command or argument '{ignored}'", StringComparison.Ordinal));
    }

    [Fact]
    public void Evaluate_takes_its_data_threads_and_out()
    {
        (string Model, TrainSettings Settings, string? Out)? seen = null;
        var root = Cli.Build((_, _) => 0, (_, _, _) => 0, (model, settings, output, _) => { seen = (model, settings, output); return 0; }, _ => 0);
        Assert.Equal(0, root.Parse(["evaluate", "--model", "m.ncm", "--data", "d", "--threads", "1", "--out", "o"]).Invoke());
        Assert.Equal(("m.ncm", "d", 1, "o"), (seen!.Value.Model, seen.Value.Settings.DataDirectory, seen.Value.Settings.Threads, seen.Value.Out));
    }

    [Fact]
    public void Verify_reads_the_folder_its_out_names_and_says_so()
    {
        // verify shared train's --out, whose help promised to write history.csv, the pictures and model.ncm there.
        string? seen = null;
        var root = Cli.Build((_, _) => 0, (_, _, _) => 0, (_, _, _, _) => 0, folder => { seen = folder; return 0; });
        Assert.Equal(0, root.Parse(["verify", "--out", "o"]).Invoke());
        Assert.Equal("o", seen);
        Assert.Equal(0, root.Parse(["verify"]).Invoke());
        Assert.Equal(Path.Combine("runs", "mnist"), seen);
        Option verifyOut = root.Subcommands.Single(c => c.Name == "verify").Options.Single(o => o.Name == "--out");
        Assert.DoesNotContain("write", verifyOut.Description, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("check", verifyOut.Description, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--epochs", "0", "--epochs must be an integer from 1")]
    [InlineData("--epochs", "ten", "got 'ten'")]
    [InlineData("--batch-size", "-5", "--batch-size must be an integer")]
    [InlineData("--hidden", "128,x", "--hidden takes layer sizes")]
    [InlineData("--hidden", "0", "--hidden takes layer sizes")]
    [InlineData("--optimizer", "adamw", "--optimizer must be one of adam, sgd, rmsprop, adagrad, adadelta, adamax, nadam, lion, lamb, adafactor; got 'adamw'")]
    [InlineData("--loss", "hinge", "--loss must be one of crossentropy, mse")]
    [InlineData("--normalization", "group", "--normalization must be one of none, batch, layer")]
    [InlineData("--learning-rate", "-1", "--learning-rate must be a number in (0, 10]")]
    [InlineData("--learning-rate", "NaN", "--learning-rate must be")]
    [InlineData("--dropout", "1", "--dropout must be a number in [0, 1)")]
    [InlineData("--validation-split", "1.5", "--validation-split must be 0, or a number from 1/60000")]
    [InlineData("--validation-split", "1e-300", "--validation-split must be 0, or a number from 1/60000 (one image held out)")]
    [InlineData("--learning-rate", "1e-50", "at least 1.4E-45 (a float32 above 0)")]
    [InlineData("--out", "", "--out needs a folder; got an empty value")]
    [InlineData("--data", " ", "--data needs a folder; got an empty value")]
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

    public static TheoryData<string[], int[][]> Sweeps => new()
    {
        { [], [[16], [64], [128], [512], [1024]] },
        { ["--archs", "16", "128", "512,256"], [[16], [128], [512, 256]] },
        // --hidden names one architecture, as it does for training: 512,256 is one two-layer net, not two nets.
        { ["--hidden", "512,256"], [[512, 256]] },
    };

    [Theory]
    [MemberData(nameof(Sweeps))]
    public void Sweep_takes_a_list_of_architectures_each_possibly_deep(string[] extra, int[][] expected)
    {
        IReadOnlyList<IReadOnlyList<int>>? archs = null;
        var root = Cli.Build((_, _) => 0, (_, a, _) => { archs = a; return 0; }, (_, _, _, _) => 0);
        Assert.Equal(0, root.Parse(["sweep", .. extra]).Invoke());
        Assert.Equal(expected, archs!.Select(a => a.ToArray()).ToArray());
    }

    [Fact]
    public void Sweep_rejects_a_bad_architecture_naming_the_option()
    {
        var root = Cli.Build((_, _) => 0, (_, _, _) => 0, (_, _, _, _) => 0);
        var result = root.Parse(["sweep", "--archs", "16", "0,5"]);
        Assert.Contains(result.Errors, e => e.Message.Contains("--archs takes architectures", StringComparison.Ordinal));

        // The same one twice trained twice into one folder, and the report and manifest listed it twice.
        Assert.Contains(root.Parse(["sweep", "--archs", "16", "512,256", "512, 256"]).Errors,
            e => e.Message == "--archs names 512,256 twice; each architecture trains once, into its own folder.");
        Assert.Empty(root.Parse(["sweep", "--archs", "16", "512,256", "256,512"]).Errors);
    }

    [Fact]
    public void Evaluate_names_the_model_option_when_it_is_empty_and_verify_a_file_given_as_the_folder()
    {
        var root = Cli.Build((_, _) => 0, (_, _, _) => 0, (_, _, _, _) => 0, _ => 0);
        Assert.Contains(root.Parse(["evaluate", "--model", ""]).Errors, e => e.Message == "--model needs a model file; got an empty value.");

        string file = Path.GetTempFileName();
        try
        {
            var e = Assert.Throws<IOException>(() => new Trainer(TextWriter.Null, TextWriter.Null, false).Verify(file));
            Assert.Contains("--out names a file, not an output folder", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void A_sweep_architecture_whose_folder_name_is_too_long_is_refused_before_any_training()
    {
        // 90 layers of 12: a 276-byte folder name, which failed after the first architecture had trained, with no report.
        string folder = Path.Combine(Path.GetTempPath(), "neuralcore-sweep-" + Guid.NewGuid().ToString("N"));
        IReadOnlyList<int>[] archs = [[8], [.. Enumerable.Repeat(12, 90)]];
        var e = Assert.Throws<ArgumentException>(() =>
            new Trainer(TextWriter.Null, TextWriter.Null, false).Sweep(new TrainSettings { OutputDirectory = folder }, archs, CancellationToken.None));
        Assert.StartsWith("--archs: the folder of architecture 12,12,", e.Message, StringComparison.Ordinal);
        Assert.Contains("would be named with 276 bytes", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(folder));
    }

    [Fact]
    public void A_test_set_without_every_digit_is_refused_before_training_naming_the_digit()
    {
        // Found only by the ROC code after the whole training, which then saved nothing.
        int[] labels = [.. Enumerable.Range(0, 50).Select(i => i % 9)];
        var test = NeuralCore.Data.Dataset.FromBytes(new byte[50 * 4], labels, 4, 255f);
        var e = Assert.Throws<InvalidDataException>(() => Trainer.RequireEveryDigit(test, "/data/mnist"));
        Assert.StartsWith("The test labels in '/data/mnist' (t10k-labels-idx1-ubyte.gz or its raw form) hold no image of digit 9 among their 50", e.Message, StringComparison.Ordinal);
        Trainer.RequireEveryDigit(NeuralCore.Data.Dataset.FromBytes(new byte[10 * 4], [.. Enumerable.Range(0, 10)], 4, 255f), "/data/mnist");
    }

    [Fact]
    public void The_sample_limit_is_an_option()
    {
        Assert.Equal(NeuralCore.Data.Mnist.DefaultMaxSamples, Cli.Parse().Settings!.MaxSamples);
        Assert.Equal(50_000, Cli.Parse("--max-samples", "50000").Settings!.MaxSamples);
        Assert.Contains(Cli.Parse("--max-samples", "0").Errors, e => e.Contains("--max-samples takes an integer from 1", StringComparison.Ordinal));
        Assert.Contains(Cli.Parse("--max-samples", "lots").Errors, e => e.Contains("got 'lots'", StringComparison.Ordinal));
    }

    [Fact]
    public void Early_stopping_and_monitor_are_parsed_and_checked()
    {
        var (settings, errors) = Cli.Parse("--early-stopping", "3", "--monitor", "val_loss");
        Assert.Empty(errors);
        Assert.Equal(3, settings!.EarlyStoppingPatience);
        Assert.Equal("val_loss", settings.Monitor);
        Assert.Null(Cli.Parse().Settings!.EarlyStoppingPatience);
        Assert.Equal("val_accuracy", Cli.Parse().Settings!.Monitor);
        Assert.Contains(Cli.Parse("--early-stopping", "-1").Errors, e => e.Contains("--early-stopping takes a patience", StringComparison.Ordinal));
        Assert.Contains(Cli.Parse("--monitor", "f1").Errors, e => e.Contains("--monitor must be one of", StringComparison.Ordinal));

        // Early stopping on a validation value without validation data is refused before anything loads.
        var trainer = new Trainer(TextWriter.Null, TextWriter.Null, false);
        var ex = Assert.Throws<ArgumentException>(() => trainer.Train(new TrainSettings { EarlyStoppingPatience = 2, ValidationSplit = 0 }, CancellationToken.None));
        Assert.Contains("--early-stopping watches val_accuracy", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_options_are_rejected()
    {
        var (settings, errors) = Cli.Parse("--epoch", "3");
        Assert.Null(settings);
        Assert.NotEmpty(errors);
    }

    [Fact]
    public void A_clear_overfit_is_yes_with_the_best_epoch_and_advice_that_fits_the_settings()
    {
        // Validation loss bottoms out at epoch 2 and then climbs 27% over two epochs; validation accuracy peaked at 2.
        var history = History((0.30, 0.20, 0.90, 0.940), (0.20, 0.15, 0.95, 0.960), (0.10, 0.17, 0.98, 0.955), (0.05, 0.19, 0.99, 0.950));
        Verdict verdict = Verdict.Judge(history, "val_accuracy", new TrainSettings());
        Assert.Equal("Yes", verdict.Answer);
        Assert.Equal(2, verdict.BestEpoch);
        Assert.Contains("26.7% above its minimum 0.1500 at epoch 2", verdict.Evidence, StringComparison.Ordinal);
        Assert.Contains("Train for 2 epochs, or add --early-stopping 2", verdict.Advice, StringComparison.Ordinal);
        Assert.Contains("Add dropout after the hidden layer (--dropout 0.2)", verdict.Advice, StringComparison.Ordinal);
        Assert.Contains("Penalize large weights (--l2 1e-4", verdict.Advice, StringComparison.Ordinal);
        Assert.Contains("An L2 penalty of 0.0001 is already on; a larger factor (--l2 0.001)",
            Verdict.Judge(history, "val_accuracy", new TrainSettings { L2 = 1e-4f }).Advice, StringComparison.Ordinal);

        // With dropout and early stopping already on, the advice says so instead of recommending them again.
        Verdict regularized = Verdict.Judge(history, "val_accuracy", new TrainSettings { Dropout = 0.2f, EarlyStoppingPatience = 2 });
        Assert.Contains("Dropout 0.2 is already on", regularized.Advice, StringComparison.Ordinal);
        Assert.Contains("Early stopping (patience 2) never triggered; the weights of the best epoch, 2, were restored", regularized.Advice, StringComparison.Ordinal);
        Assert.DoesNotContain("Add dropout", regularized.Advice, StringComparison.Ordinal);

        // When early stopping did stop the run, the test results are those of the restored best epoch.
        history.StopReason = "early stopping: val_accuracy did not improve for 2 epoch(s)";
        Verdict stopped = Verdict.Judge(history, "val_accuracy", new TrainSettings { EarlyStoppingPatience = 2 });
        Assert.Contains("stopped the run and restored the weights of epoch 2", stopped.Advice, StringComparison.Ordinal);
    }

    [Fact]
    public void A_rising_validation_loss_while_accuracy_still_improves_is_only_slight()
    {
        // The default run's shape: the loss is lowest at epoch 3, yet validation accuracy is best in the last epoch.
        var history = History((0.25, 0.12, 0.93, 0.965), (0.11, 0.09, 0.967, 0.974), (0.07, 0.080, 0.978, 0.976),
            (0.05, 0.083, 0.984, 0.977), (0.04, 0.086, 0.988, 0.978));
        Verdict verdict = Verdict.Judge(history, "val_accuracy", new TrainSettings());
        Assert.Equal("Slightly", verdict.Answer);
        Assert.Equal(5, verdict.BestEpoch);
        Assert.Contains("Validation accuracy still improved in the last epoch", verdict.Advice, StringComparison.Ordinal);
        Assert.DoesNotContain("Train for", verdict.Advice, StringComparison.Ordinal);

        // Monitoring val_loss instead picks epoch 3, and the advice follows the monitor.
        Verdict byLoss = Verdict.Judge(history, "val_loss", new TrainSettings());
        Assert.Equal(3, byLoss.BestEpoch);
        Assert.Contains("Train for 3 epochs", byLoss.Advice, StringComparison.Ordinal);
    }

    [Fact]
    public void Falling_curves_are_no_and_no_validation_cannot_tell()
    {
        var falling = History((0.30, 0.20, 0.90, 0.93), (0.20, 0.15, 0.94, 0.95), (0.15, 0.12, 0.955, 0.96));
        Verdict verdict = Verdict.Judge(falling, "val_accuracy", new TrainSettings { Epochs = 3 });
        Assert.Equal("No", verdict.Answer);
        Assert.Contains("more epochs (--epochs 6)", verdict.Advice, StringComparison.Ordinal);

        var history = new NeuralCore.Training.History();
        history.Add(new NeuralCore.Training.EpochMetrics(1, 0.3, 0.9, null, null, 1));
        Assert.Equal("Cannot tell", Verdict.Judge(history, "val_accuracy", new TrainSettings()).Answer);

        // A "No" run whose best epoch came before the last: with early stopping on, its weights were restored and the
        // test results are theirs. The advice said to add --early-stopping 2 to a run that had it, and never said so.
        var flat = History((0.30, 0.20, 0.90, 0.93), (0.20, 0.150, 0.94, 0.950), (0.15, 0.151, 0.955, 0.951));
        Verdict plain = Verdict.Judge(flat, "val_loss", new TrainSettings { Epochs = 3 });
        Assert.Equal("No", plain.Answer);
        // One epoch after the best is no trend (the notebook preset's epoch 5 dipped, and 15 epochs gained 1.3 points
        // where this said more epochs would add little); two are.
        Assert.Contains("The best val_loss came in epoch 2, one epoch before the last: one lower epoch is not yet a trend. More epochs (--epochs 6) with --early-stopping 2 would tell", plain.Advice, StringComparison.Ordinal);
        Assert.DoesNotContain("would add little", plain.Advice, StringComparison.Ordinal);
        var flatter = History((0.30, 0.20, 0.90, 0.93), (0.20, 0.150, 0.94, 0.950), (0.15, 0.151, 0.955, 0.951), (0.14, 0.1505, 0.957, 0.951));
        Verdict settled = Verdict.Judge(flatter, "val_loss", new TrainSettings { Epochs = 4 });
        Assert.Equal("No", settled.Answer);
        Assert.Contains("the 2 epochs after it did not improve on it, so more epochs would add little; --early-stopping 2 would stop there", settled.Advice, StringComparison.Ordinal);
        Verdict restored = Verdict.Judge(flat, "val_loss", new TrainSettings { Epochs = 3, EarlyStoppingPatience = 3, Monitor = "val_loss" });
        Assert.Equal("No", restored.Answer);
        Assert.Contains("Early stopping (patience 3) never triggered; the weights of the best epoch, 2, were restored", restored.Advice, StringComparison.Ordinal);
        Assert.DoesNotContain("--early-stopping 2", restored.Advice, StringComparison.Ordinal);

        // A run that did not learn is told so, not to train longer (SGD at a rate of 10 ended at 10% accuracy).
        var stuck = History((2.30, 2.31, 0.10, 0.10), (2.31, 2.30, 0.10, 0.10), (2.32, 2.31, 0.10, 0.10));
        Verdict diverged = Verdict.Judge(stuck, "val_accuracy", new TrainSettings { Epochs = 3, Optimizer = "sgd", LearningRate = 10f });
        Assert.Contains("The training loss did not fall (2.3 in epoch 1, 2.32 in epoch 3)", diverged.Advice, StringComparison.Ordinal);
        Assert.Contains("--learning-rate 1)", diverged.Advice, StringComparison.Ordinal);
        Assert.DoesNotContain("more epochs (--epochs", diverged.Advice, StringComparison.Ordinal);

        // Nor when its loss fell from a blown-up first epoch while it predicted one digit for every image (SGD at a rate
        // of 10: 33.49 then 2.56, accuracy 10.3% then 9.95%, and "more epochs may still help").
        var dead = History((33.49, 2.93, 0.1030, 0.0992), (2.56, 2.74, 0.0995, 0.1113));
        Verdict chance = Verdict.Judge(dead, "val_accuracy", new TrainSettings { Epochs = 2, Optimizer = "sgd", LearningRate = 10f });
        Assert.Equal("Cannot tell", chance.Answer);
        Assert.Contains("Training accuracy is 9.95% in the last epoch, near the 10% of guessing one digit for every image: the model is not learning", chance.Advice, StringComparison.Ordinal);
        Assert.Contains("--learning-rate 1)", chance.Advice, StringComparison.Ordinal);
        Assert.DoesNotContain("more epochs (--epochs", chance.Advice, StringComparison.Ordinal);

        // Nor judged overfitting at chance, whatever its validation loss did (Adam at a rate of 10: "Slightly", with
        // advice to add dropout and an L2 penalty, at 10% accuracy).
        var rising = History((2.40, 2.31, 0.101, 0.098), (2.35, 2.33, 0.100, 0.099), (2.31, 2.36, 0.099, 0.101), (2.30, 2.40, 0.100, 0.100));
        Assert.Contains(NeuralCore.Training.OverfittingVerdict.Judge(rising, "val_loss").AnswerText, new[] { "Yes", "Slightly" });
        Verdict atChance = Verdict.Judge(rising, "val_loss", new TrainSettings { Epochs = 4, Optimizer = "adam", LearningRate = 10f });
        Assert.Equal("Cannot tell", atChance.Answer);
        Assert.Contains("the model is not learning, so overfitting cannot be judged", atChance.Advice, StringComparison.Ordinal);
        Assert.DoesNotContain("dropout", atChance.Advice, StringComparison.Ordinal);
        Assert.Equal("Cannot tell", diverged.Answer);

        // A run that learns is never told so, however few its epochs.
        Assert.DoesNotContain("not learning", Verdict.Judge(History((0.5, 0.3, 0.85, 0.91), (0.3, 0.25, 0.92, 0.93)), "val_accuracy", new TrainSettings { Epochs = 2 }).Advice, StringComparison.Ordinal);
    }

    private static NeuralCore.Training.History History(params (double Loss, double ValLoss, double Accuracy, double ValAccuracy)[] epochs)
    {
        var history = new NeuralCore.Training.History();
        for (int i = 0; i < epochs.Length; i++)
        {
            var (loss, valLoss, accuracy, valAccuracy) = epochs[i];
            history.Add(new NeuralCore.Training.EpochMetrics(i + 1, loss, accuracy, valLoss, valAccuracy, 1)
            {
                Values = new Dictionary<string, double> { ["loss"] = loss, ["accuracy"] = accuracy, ["val_loss"] = valLoss, ["val_accuracy"] = valAccuracy },
            });
        }

        return history;
    }
}

public sealed class StaleFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("neuralcore-stale-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Files_killed_runs_left_are_removed_and_live_ones_kept()
    {
        string guid = Guid.NewGuid().ToString("N");
        // No process has pid 2^22 + 7 on Linux (pid_max is at most 2^22).
        string[] stale = [$".report.md.4194311.{guid}.tmp", $".confusion.png.4194311.{guid}.tmp", $".history.csv.4194311.{guid}.part"];
        string[] kept = [$".report.md.{Environment.ProcessId}.{guid}.tmp", ".gitignore", "report.md", $".odd.4194311.nothex.tmp"];
        Directory.CreateDirectory(Path.Combine(_dir, "784-16-10"));
        foreach (string name in stale.Concat(kept))
        {
            File.WriteAllText(Path.Combine(_dir, name), "x");
        }

        File.WriteAllText(Path.Combine(_dir, "784-16-10", stale[2]), "x");
        Assert.Equal(4, Trainer.RemoveStale(_dir));
        Assert.Equal(kept.Order(), Directory.GetFiles(_dir).Select(Path.GetFileName).Order()!);
        Assert.Empty(Directory.GetFiles(Path.Combine(_dir, "784-16-10")));
    }

    [Fact]
    public void A_run_refused_by_the_folders_lock_removes_nothing()
    {
        // The cleanup ran before the lock was taken. A live run in another container can carry this process's pid (each
        // is often pid 1), its partial history last written before this process started: the file of a run still
        // training looked like a killed run's, and the run that the lock then refused had already deleted it.
        string partial = Path.Combine(_dir, $".history.csv.{Environment.ProcessId}.{Guid.NewGuid():N}.part");
        File.WriteAllText(partial, "epoch,loss");
        File.SetLastWriteTimeUtc(partial, System.Diagnostics.Process.GetCurrentProcess().StartTime.ToUniversalTime() - TimeSpan.FromHours(1));
        using (new FileStream(Path.Combine(_dir, Trainer.LockFile), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            var e = Assert.Throws<IOException>(() => new Trainer(TextWriter.Null, TextWriter.Null, false).Train(new TrainSettings { OutputDirectory = _dir }, CancellationToken.None));
            Assert.StartsWith("Another run is writing to the output folder", e.Message, StringComparison.Ordinal);
            Assert.True(File.Exists(partial), "a run refused by the lock removed the partial history of the run holding it");
        }

        // Held by this run, the folder is cleaned.
        Trainer.LockOutput(_dir).Dispose();
        Assert.False(File.Exists(partial));
    }
}
