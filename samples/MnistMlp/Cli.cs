using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace MnistMlp;

/// <summary>The command line: options, their validation, and the commands that run.</summary>
internal static class Cli
{
    internal static readonly IReadOnlyList<IReadOnlyList<int>> DefaultSweep = [[16], [64], [128], [512], [1024]];

    private static readonly Option<int[]?> HiddenOption = new("--hidden")
    {
        Description = "Hidden layer sizes, comma-separated (e.g. 512,256 is two layers). Default 128.",
        CustomParser = ParseHidden,
    };

    private static readonly Option<int> EpochsOption = IntOption("--epochs", "Passes over the training data.", 10, 1, 100_000);
    private static readonly Option<int> BatchOption = IntOption("--batch-size", "Samples per training step.", 32, 1, 60_000);
    private static readonly Option<string> OptimizerOption = ChoiceOption("--optimizer", TrainerOptimizers.Describe(), "adam", TrainerOptimizers.Names);
    private static readonly Option<float?> LearningRateOption = new("--learning-rate")
    {
        Description = "The learning rate (default: the optimizer's, as --optimizer lists them).",
        // Checked as the float it becomes: 1e-50 passed as a double and became 0.
        CustomParser = result => ParseNumber(result, "--learning-rate", v => (float)v > 0 && v <= 10, "a number in (0, 10], at least 1.4E-45 (a float32 above 0)") is { } v ? (float)v : null,
    };

    private static readonly Option<string> LossOption = ChoiceOption("--loss", "The loss: crossentropy (softmax cross-entropy) or mse (mean squared error on a softmax output).", "crossentropy", "crossentropy", "mse");
    private static readonly Option<string> NormalizationOption = ChoiceOption("--normalization",
        "A normalization after each hidden layer, before its ReLU: none, batch (BatchNormalization) or layer (LayerNormalization).", "none", "none", "batch", "layer");
    private static readonly Option<double> DropoutOption = DoubleOption("--dropout", "Dropout rate after each hidden layer, in [0, 1).", 0, v => v >= 0 && (float)v < 1f, "a number in [0, 1)");
    private static readonly Option<double> MaxNormOption = DoubleOption("--max-norm",
        "Cap on the norm of each hidden unit's incoming weights after every update (Keras's kernel_constraint=MaxNorm(value), the companion of dropout), in (0, 1000]; 0 turns it off.", 0,
        v => v == 0 || (v > 0 && v <= 1000 && (float)v > 0f), "0, or a number in (0, 1000]");
    private static readonly Option<string> InitializerOption = ChoiceOption("--initializer",
        "How the hidden layers' weights start (Keras's kernel_initializer): glorot_uniform (the default), glorot_normal, he_normal or he_uniform (suited to ReLU), lecun_normal, or orthogonal.",
        "glorot_uniform", [.. Trainer.Initializers.Keys]);
    private static readonly Option<double> L2Option = DoubleOption("--l2", "L2 penalty factor on every layer's weights (Keras's kernel_regularizer=L2(factor)), in [0, 1]; 0 turns it off.", 0,
        v => v >= 0 && v <= 1, "a number in [0, 1]");
    // Above 0 it must hold out at least one of the 60,000 training images (1e-300 passed and failed after loading).
    private static readonly Option<double> SplitOption = DoubleOption("--validation-split", "Fraction of the training set held out (its last samples, as in Keras): 0, or from 1/60000 to 0.99.", 0.1,
        v => v == 0 || (v * 60_000 >= 1 && v <= 0.99), "0, or a number from 1/60000 (one image held out) to 0.99");
    private static readonly Option<int> ThreadsOption = IntOption("--threads", "Threads for the kernels; 0 uses every processor.", 0, 0, 256);
    private static readonly Option<ulong> SeedOption = new("--seed")
    {
        Description = "Seed of initialization, dropout and shuffling: one seed gives bitwise the same run.",
        DefaultValueFactory = _ => 42,
        CustomParser = result =>
        {
            string token = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Empty;
            if (!ulong.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out ulong seed))
            {
                result.AddError($"--seed must be a non-negative integer; got '{token}'.");
            }

            return seed;
        },
    };

    private static readonly Option<string?> DataOption = new("--data")
    {
        Description = "A folder holding the four MNIST IDX files (.gz or raw). Default: the repository's data/mnist, then the cache, then a download.",
        CustomParser = result => ParsePath(result, "--data"),
    };

    private static readonly Option<string?> OutOption = new("--out")
    {
        Description = "Where to write the outputs: history.csv, report.json, report.md, the pictures and model.ncm (default runs/mnist; runs/sweep for sweep).",
        CustomParser = result => ParsePath(result, "--out"),
    };

    // evaluate writes other files, and only when asked: the same option under its own description.
    private static readonly Option<string?> EvaluateOutOption = new("--out")
    {
        Description = "Where to write evaluation.md, confusion.png, roc.png, misclassified.png and manifest.json. Default: nothing is written.",
        CustomParser = result => ParsePath(result, "--out"),
    };

    // verify only reads the folder: the same option under its own description.
    private static readonly Option<string?> VerifyOutOption = new("--out")
    {
        Description = "The output folder to check (default runs/mnist).",
        CustomParser = result => ParsePath(result, "--out"),
    };

    private static readonly Option<int?> EarlyStoppingOption = new("--early-stopping")
    {
        Description = "Stop when --monitor has not improved for this many epochs, and keep the best epoch's weights (Keras's EarlyStopping with restore_best_weights). Default: off.",
        CustomParser = result =>
        {
            string token = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Empty;
            if (!int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out int patience) || patience < 0 || patience > 1000)
            {
                result.AddError($"--early-stopping takes a patience in epochs, an integer from 0 to 1000; got '{token}'.");
                return null;
            }

            return patience;
        },
    };

    private static readonly Option<int?> MaxSamplesOption = new("--max-samples")
    {
        Description = "The most samples a data file may declare; a file declaring more is refused from its header, before it is decompressed (a small gzip file can declare gigabytes of images). Default: 10,000,000.",
        CustomParser = result =>
        {
            string token = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Empty;
            if (!int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out int limit) || limit < 1 || limit > NeuralCore.Data.IdxReader.MaxElements)
            {
                result.AddError($"--max-samples takes an integer from 1 to {NeuralCore.Data.IdxReader.MaxElements}; got '{token}'.");
                return null;
            }

            return limit;
        },
    };

    private static readonly Option<bool> OnnxOption = new("--onnx")
    {
        Description = "Also write model.onnx, the trained model as an ONNX graph (opset 13) for ONNX Runtime and other ONNX tools; it outputs the class probabilities.",
    };

    private static readonly Option<string> MonitorOption = ChoiceOption("--monitor",
        "The value that picks the best epoch, for --early-stopping and the report's advice.", "val_accuracy", "val_accuracy", "val_loss", "accuracy", "loss");

    private static readonly Option<IReadOnlyList<IReadOnlyList<int>>?> ArchsOption = new("--archs")
    {
        Description = "The architectures to compare, separated by spaces; each is its hidden layer sizes separated by commas (e.g. --archs 16 128 512,256). Default: 16 64 128 512 1024.",
        CustomParser = ParseArchitectures,
        AllowMultipleArgumentsPerToken = true,
        Arity = ArgumentArity.OneOrMore,
    };

    private static readonly Option<string> ScheduleOption = ChoiceOption("--schedule", "The learning rate over training: constant, or cosine (a per-step cosine decay to 0, after --warmup).", "constant", "constant", "cosine");
    private static readonly Option<double> WarmupOption = DoubleOption("--warmup", "With --schedule cosine, the fraction of the steps that warm up linearly from a tenth of the learning rate, in [0, 0.5].", 0, v => v >= 0 && v <= 0.5, "a number in [0, 0.5]");

    private static readonly Option<string?> PresetOption = new("--preset")
    {
        Description = "notebook: the course notebook's setup (hidden 16, mse, adam, 5 epochs, batch 100, validation split 0.2). fast: the fastest measured recipe to 98% (hidden 640, batch 128, adam 3e-3, cosine schedule with 10% warmup, 3 epochs, no validation split). Explicit options override a preset.",
        CustomParser = result =>
        {
            string token = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Empty;
            // Case-insensitive, as the other choices are (--optimizer Adam was taken, --preset Notebook refused).
            string lower = token.ToLowerInvariant();
            if (lower is not ("notebook" or "fast"))
            {
                result.AddError($"--preset must be notebook or fast; got '{token}'.");
            }

            return lower;
        },
    };

    private static readonly Option<string> ModelOption = new("--model")
    {
        Description = "A model file written by the trainer (model.ncm or checkpoint.ncm).",
        Required = true,
        // An empty value was refused by the file code as "(Parameter 'path')", naming no option.
        CustomParser = result => ParsePath(result, "--model", "a model file")!,
    };

    /// <summary>Builds the command tree; <paramref name="run"/> receives the settings of the train and sweep commands.</summary>
    public static RootCommand Build(Func<TrainSettings, CancellationToken, int> train,
        Func<TrainSettings, IReadOnlyList<IReadOnlyList<int>>, CancellationToken, int> sweep,
        Func<string, TrainSettings, string?, CancellationToken, int> evaluate,
        Func<string, int>? verify = null)
    {
        // Each command takes the options it uses, and only those (as recursive options, evaluate and verify listed every
        // training option in --help and ignored them).
        Option[] training =
        [
            HiddenOption, EpochsOption, BatchOption, OptimizerOption, LearningRateOption, ScheduleOption, WarmupOption,
            LossOption, NormalizationOption, DropoutOption, MaxNormOption, InitializerOption, L2Option, SplitOption, EarlyStoppingOption, MonitorOption, ThreadsOption, SeedOption, DataOption, MaxSamplesOption, OutOption, PresetOption,
        ];
        var root = new RootCommand(
            "Trains a multilayer perceptron on MNIST with NeuralCore and writes its curves, confusion matrix and report.");
        foreach (Option option in training.Append(OnnxOption))
        {
            root.Options.Add(option);
        }

        root.Validators.Add(WarmupNeedsCosine);
        root.SetAction((result, token) => Task.FromResult(train(Settings(result), token)));

        var sweepCommand = new Command("sweep",
            "Trains one model per architecture and compares parameters, training time and validation accuracy, with curves and a confusion matrix for each.")
        {
            ArchsOption,
        };
        foreach (Option option in training)
        {
            sweepCommand.Options.Add(option);
        }

        sweepCommand.Validators.Add(WarmupNeedsCosine);
        sweepCommand.Validators.Add(command =>
        {
            // --archs replaced --hidden silently: a user who gave both ran nets they did not name.
            if (command.GetResult(ArchsOption) is { Implicit: false } && command.GetResult(HiddenOption) is { Implicit: false })
            {
                command.AddError("sweep takes --archs (the architectures to compare) or --hidden (one architecture), not both.");
            }
        });
        sweepCommand.SetAction((result, token) =>
        {
            TrainSettings settings = Settings(result);
            IReadOnlyList<IReadOnlyList<int>>? archs = result.GetValue(ArchsOption);
            bool hiddenGiven = result.GetResult(HiddenOption) is { Implicit: false };
            IReadOnlyList<IReadOnlyList<int>> chosen = archs is { Count: > 0 } ? archs : hiddenGiven ? [settings.Hidden] : DefaultSweep;
            return Task.FromResult(sweep(settings with { OutputDirectory = result.GetValue(OutOption) ?? Path.Combine("runs", "sweep") }, chosen, token));
        });
        root.Subcommands.Add(sweepCommand);

        var evaluateCommand = new Command("evaluate", "Evaluates a saved model on the MNIST test set: accuracy, confusion matrix, per-digit scores and ROC AUC.")
        {
            ModelOption, DataOption, MaxSamplesOption, ThreadsOption, EvaluateOutOption,
        };
        evaluateCommand.SetAction((result, token) =>
            // --out is optional here: without it, evaluate only prints.
            Task.FromResult(evaluate(result.GetRequiredValue(ModelOption),
                new TrainSettings
                {
                    DataDirectory = result.GetValue(DataOption),
                    MaxSamples = result.GetValue(MaxSamplesOption) ?? NeuralCore.Data.Mnist.DefaultMaxSamples,
                    Threads = result.GetValue(ThreadsOption),
                },
                result.GetResult(EvaluateOutOption) is { Implicit: false } ? result.GetValue(EvaluateOutOption) : null, token)));
        root.Subcommands.Add(evaluateCommand);

        var verifyCommand = new Command("verify", "Checks that an output folder holds one finished run's outputs, as its manifest.json lists them (exit code 1 if not).")
        {
            VerifyOutOption,
        };
        verifyCommand.SetAction(result => verify?.Invoke(result.GetValue(VerifyOutOption) ?? Path.Combine("runs", "mnist")) ?? 0);
        root.Subcommands.Add(verifyCommand);
        return root;
    }

    /// <summary>Parses the train command's arguments (for tests): the settings, or the errors.</summary>
    public static (TrainSettings? Settings, IReadOnlyList<string> Errors) Parse(params string[] args)
    {
        RootCommand root = Build((_, _) => 0, (_, _, _) => 0, (_, _, _, _) => 0);
        ParseResult result = root.Parse(args);
        if (result.Errors.Count > 0)
        {
            return (null, [.. result.Errors.Select(e => e.Message)]);
        }

        return (Settings(result), []);
    }

    // A warmup given with a schedule that has none was accepted, ignored, and recorded in report.json as if applied.
    private static void WarmupNeedsCosine(CommandResult command)
    {
        // A value its own parser refuses (out of range) is reported by that parser alone.
        if (command.GetResult(WarmupOption) is not { Implicit: false } warmup
            || warmup.Tokens.Count != 1
            || !double.TryParse(warmup.Tokens[0].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out double value)
            || value is < 0 or > 0.5)
        {
            return;
        }

        string preset = command.GetValue(PresetOption) ?? "none";
        string schedule = command.GetResult(ScheduleOption) is { Implicit: false }
            ? command.GetValue(ScheduleOption)!
            : preset == "fast" ? TrainSettings.Fast.Schedule : preset == "notebook" ? TrainSettings.Notebook.Schedule : new TrainSettings().Schedule;
        if (schedule != "cosine")
        {
            command.AddError($"--warmup applies only with --schedule cosine; the schedule here is {schedule}.");
        }
    }

    private static TrainSettings Settings(ParseResult result)
    {
        TrainSettings start = result.GetValue(PresetOption) switch
        {
            "notebook" => TrainSettings.Notebook,
            "fast" => TrainSettings.Fast,
            _ => new TrainSettings(),
        };
        bool Given(Option option) => result.GetResult(option) is { Implicit: false };
        return start with
        {
            Hidden = Given(HiddenOption) ? result.GetValue(HiddenOption)! : start.Hidden,
            Epochs = Given(EpochsOption) ? result.GetValue(EpochsOption) : start.Epochs,
            BatchSize = Given(BatchOption) ? result.GetValue(BatchOption) : start.BatchSize,
            Optimizer = Given(OptimizerOption) ? result.GetValue(OptimizerOption)! : start.Optimizer,
            // A preset's rate is for its optimizer: another one given beside it starts from its own default.
            LearningRate = result.GetValue(LearningRateOption) ?? (Given(OptimizerOption) && result.GetValue(OptimizerOption) != start.Optimizer ? null : start.LearningRate),
            Schedule = Given(ScheduleOption) ? result.GetValue(ScheduleOption)! : start.Schedule,
            // A preset's warmup belongs to its cosine schedule: with the schedule changed there is none to record.
            Warmup = Given(WarmupOption) ? result.GetValue(WarmupOption)
                : (Given(ScheduleOption) ? result.GetValue(ScheduleOption)! : start.Schedule) == "cosine" ? start.Warmup : 0,
            Loss = Given(LossOption) ? result.GetValue(LossOption)! : start.Loss,
            Normalization = Given(NormalizationOption) ? result.GetValue(NormalizationOption)! : start.Normalization,
            Dropout = Given(DropoutOption) ? (float)result.GetValue(DropoutOption) : start.Dropout,
            L2 = Given(L2Option) ? (float)result.GetValue(L2Option) : start.L2,
            MaxNorm = Given(MaxNormOption) ? (float)result.GetValue(MaxNormOption) : start.MaxNorm,
            Initializer = Given(InitializerOption) ? result.GetValue(InitializerOption)! : start.Initializer,
            ValidationSplit = Given(SplitOption) ? result.GetValue(SplitOption) : start.ValidationSplit,
            EarlyStoppingPatience = result.GetValue(EarlyStoppingOption) ?? start.EarlyStoppingPatience,
            Monitor = Given(MonitorOption) ? result.GetValue(MonitorOption)! : start.Monitor,
            Onnx = result.GetValue(OnnxOption),
            Threads = result.GetValue(ThreadsOption),
            Seed = result.GetValue(SeedOption),
            DataDirectory = result.GetValue(DataOption),
            MaxSamples = result.GetValue(MaxSamplesOption) ?? NeuralCore.Data.Mnist.DefaultMaxSamples,
            OutputDirectory = result.GetValue(OutOption) ?? start.OutputDirectory,
        };
    }

    private static int[]? ParseHidden(ArgumentResult result)
    {
        if (result.Tokens.Count > 1)
        {
            // Each --hidden added its layers to the last: --hidden 512 --hidden 16 trained 784-512-16-10.
            result.AddError($"--hidden was given {result.Tokens.Count} times ({string.Join(", ", result.Tokens.Select(t => t.Value))}); give it once, its layer sizes separated by commas (e.g. --hidden 512,256).");
            return null;
        }

        var sizes = new List<int>();
        foreach (Token token in result.Tokens)
        {
            foreach (string part in token.Value.Split(',', StringSplitOptions.TrimEntries))
            {
                if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int size) || size < 1 || size > 65_536)
                {
                    result.AddError($"--hidden takes layer sizes from 1 to 65536 separated by commas (e.g. 512,256); got '{token.Value}'.");
                    return null;
                }

                sizes.Add(size);
            }
        }

        if (sizes.Count == 0)
        {
            result.AddError("--hidden needs at least one layer size.");
        }

        return [.. sizes];
    }

    private static List<IReadOnlyList<int>>? ParseArchitectures(ArgumentResult result)
    {
        var architectures = new List<IReadOnlyList<int>>();
        foreach (Token token in result.Tokens)
        {
            var sizes = new List<int>();
            foreach (string part in token.Value.Split(',', StringSplitOptions.TrimEntries))
            {
                if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int size) || size < 1 || size > 65_536)
                {
                    result.AddError($"--archs takes architectures separated by spaces, each its layer sizes from 1 to 65536 separated by commas (e.g. --archs 16 128 512,256); got '{token.Value}'.");
                    return null;
                }

                sizes.Add(size);
            }

            // The same architecture twice trained twice into one folder, the second run's files over the first's, and the
            // report and manifest listed it twice.
            if (architectures.Any(a => a.SequenceEqual(sizes)))
            {
                result.AddError($"--archs names {string.Join(",", sizes)} twice; each architecture trains once, into its own folder.");
                return null;
            }

            architectures.Add(sizes);
        }

        return architectures;
    }

    private static string? ParsePath(ArgumentResult result, string name, string what = "a folder")
    {
        string token = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Empty;
        if (string.IsNullOrWhiteSpace(token))
        {
            result.AddError($"{name} needs {what}; got an empty value.");
            return null;
        }

        return token;
    }

    private static double? ParseNumber(ArgumentResult result, string name, Func<double, bool> valid, string expected)
    {
        string token = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Empty;
        if (!double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !valid(value))
        {
            result.AddError($"{name} must be {expected}; got '{token}'.");
            return null;
        }

        return value;
    }

    private static Option<int> IntOption(string name, string description, int fallback, int min, int max) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => fallback,
        CustomParser = result =>
        {
            string token = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Empty;
            if (!int.TryParse(token, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value) || value < min || value > max)
            {
                result.AddError($"{name} must be an integer from {min} to {max}; got '{token}'.");
                return fallback;
            }

            return value;
        },
    };

    private static Option<double> DoubleOption(string name, string description, double fallback, Func<double, bool> valid, string expected) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => fallback,
        CustomParser = result => ParseNumber(result, name, valid, expected) ?? fallback,
    };

    private static Option<string> ChoiceOption(string name, string description, string fallback, params string[] choices) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => fallback,
        CustomParser = result =>
        {
            string token = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Empty;
            string lower = token.ToLowerInvariant();
            if (!choices.Contains(lower))
            {
                result.AddError($"{name} must be one of {string.Join(", ", choices)}; got '{token}'.");
                return fallback;
            }

            return lower;
        },
    };
}
