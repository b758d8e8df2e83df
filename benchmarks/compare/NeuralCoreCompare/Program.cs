using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using NeuralCore;
using NeuralCore.Data;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Training;
using NeuralCoreCompare;

// The NeuralCore half of benchmarks/compare: trains 784-H-10, or 784-H1-H2-...-10 for --hidden H1-H2 (ReLU after
// every hidden layer, softmax cross-entropy, Adam lr 1e-3 eps 1e-7)
// on MNIST with no validation, then prints one JSON line with every epoch's seconds and the test accuracy.
// benchmarks/compare/pytorch_mlp.py is the PyTorch half and takes the same options.
CompareOptions options;
try
{
    options = CompareOptions.Parse(args);
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    Console.Error.WriteLine(CompareOptions.Usage);
    return 2;
}

if (options.Help)
{
    Console.WriteLine(CompareOptions.Usage);
    return 0;
}

Parallelism.DegreeOfParallelism = options.Threads;

if (options.Mode == "probe")
{
    (double gflops, int bits) = Probes.Fma(options.Seconds);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{{\"mode\":\"probe\",\"bits\":{bits},\"gflops\":{gflops:F2}}}"));
    return 0;
}

if (options.Mode == "pingpong")
{
    (double min, double median) = Probes.RoundTrip(options.Seconds);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{{\"mode\":\"pingpong\",\"round_trip_ns_min\":{min:F1},\"round_trip_ns_median\":{median:F1}}}"));
    return 0;
}

if (options.Mode == "contention")
{
    int spinners = Math.Max(2, options.Threads);
    (double alone, double[] together, double maxPause) = Probes.Contention(options.Seconds, spinners);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{{\"mode\":\"contention\",\"threads\":{spinners},\"alone_lost\":{alone:F4},\"together_lost\":[{string.Join(",", together.Select(v => v.ToString("F4", CultureInfo.InvariantCulture)))}],\"max_pause_ms\":{maxPause:F2}}}"));
    return 0;
}

if (options.Mode == "step")
{
    if (options.Copies > 1)
    {
        (double Min, double Median)[] copies = Probes.StepCopies(options.Hidden, options.Batch, options.Seconds, options.Copies);
        double copyFlops = Probes.StepFlops(options.Hidden, options.Batch);
        string List(Func<(double Min, double Median), double> pick) =>
            string.Join(",", copies.Select(c => pick(c).ToString("F2", CultureInfo.InvariantCulture)));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{{\"mode\":\"step\",\"loop\":\"fit\",\"read_every\":0,\"hidden\":{options.HiddenJson},\"batch\":{options.Batch},\"threads\":1,\"copies\":{options.Copies},\"fma_threads\":{Parallelism.FmaThreads},\"step_us_min\":[{List(c => c.Min)}],\"step_us_median\":[{List(c => c.Median)}],\"gflops_best\":{copies.Sum(c => copyFlops / c.Min / 1e3):F2},\"gflops_median\":{copies.Sum(c => copyFlops / c.Median / 1e3):F2}}}"));
        return 0;
    }

    Dataset? images = null;
    if (options.StepData == "mnist")
    {
        if (LoadMnist(options.DataDirectory) is not { } loaded)
        {
            return 1;
        }

        images = loaded.Train;
        if (images.Count < options.Batch || images.FeatureSize != Mnist.Features)
        {
            Console.Error.WriteLine($"error: --step-data mnist needs {options.Batch} images of {Mnist.Features} pixels; '{options.DataDirectory}' holds {images.Count} of {images.FeatureSize}.");
            return 2;
        }
    }

    (double min, double median) = Probes.Step(options.Hidden, options.Batch, options.Seconds, options.Loop, options.ReadEvery, images);
    double flops = Probes.StepFlops(options.Hidden, options.Batch);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{{\"mode\":\"step\",\"data\":\"{options.StepData}\",\"loop\":\"{options.Loop}\",\"read_every\":{options.ReadEvery},\"hidden\":{options.HiddenJson},\"batch\":{options.Batch},\"threads\":{Parallelism.DegreeOfParallelism},\"fma_threads\":{Parallelism.FmaThreads},\"step_us_min\":{min:F2},\"step_us_median\":{median:F2},\"gflops_best\":{flops / min / 1e3:F2},\"gflops_median\":{flops / median / 1e3:F2}}}"));
    return 0;
}

long loadStart = Stopwatch.GetTimestamp();
if (LoadMnist(options.DataDirectory) is not { } mnist)
{
    return 1;
}

double loadSeconds = Stopwatch.GetElapsedTime(loadStart).TotalSeconds;

// --copies N (with --threads 1): N models trained at once from the same start, each on its own thread: what N cores
// give one-thread training when nothing of ours is shared between them, the ceiling for N threads' epochs.
var models = new Sequential[options.Copies];
var histories = new History[options.Copies];
for (int c = 0; c < models.Length; c++)
{
    models[c] = Build(options);
}

if (models.Length == 1)
{
    histories[0] = Train(models[0]);
}
else
{
    using var begin = new Barrier(models.Length);
    Exception? failure = null;
    Thread[] trainers = [.. Enumerable.Range(0, models.Length).Select(c => new Thread(() =>
    {
        try
        {
            begin.SignalAndWait();
            histories[c] = Train(models[c]);
        }
        catch (Exception ex)
        {
            Interlocked.CompareExchange(ref failure, ex, null);
        }
    }) { Name = $"copy {c}" })];
    foreach (Thread trainer in trainers)
    {
        trainer.Start();
    }

    foreach (Thread trainer in trainers)
    {
        trainer.Join();
    }

    if (failure is not null)
    {
        throw new InvalidOperationException($"a training copy failed: {failure.Message}", failure);
    }

    // The same seed and data on one thread each: the same bits, or the library is not deterministic.
    if (histories.Any(h => h.Epochs[^1].Loss != histories[0].Epochs[^1].Loss))
    {
        Console.Error.WriteLine("error: copies trained with the same seed ended with different losses: "
            + string.Join(", ", histories.Select(h => h.Epochs[^1].Loss.ToString("R", CultureInfo.InvariantCulture))));
        return 1;
    }
}

Sequential model = models[0];
History history = histories[0];

// One Fit call for all epochs, so that every epoch gets its own shuffle (Fit derives it from the epoch number).
// Without validation data an epoch's Seconds covers exactly the training loop: shuffle, batch gathering and steps.
History Train(Sequential m) => m.Fit(mnist.Train, new FitOptions
{
    Epochs = options.Epochs,
    BatchSize = options.Batch,
    ValidationSplit = 0,
    Shuffle = true,
    Seed = options.Seed,
    MeasureStepThreads = options.StepThreads == "measured",
});

Evaluation test = model.Evaluate(mnist.Test);

using (Stream stdout = Console.OpenStandardOutput())
using (var json = new Utf8JsonWriter(stdout))
{
    json.WriteStartObject();
    json.WriteString("framework", "neuralcore");
    if (options.Hidden.Length == 1)
    {
        json.WriteNumber("hidden", options.Hidden[0]);
    }
    else
    {
        json.WriteString("hidden", options.HiddenText);
    }

    json.WriteNumber("batch", options.Batch);
    json.WriteNumber("threads", Parallelism.DegreeOfParallelism);
    json.WriteString("step_threads", options.StepThreads);
    if (histories.Length > 1)
    {
        json.WriteNumber("copies", histories.Length);
    }

    json.WriteNumber("fma_threads", Parallelism.FmaThreads);
    json.WriteNumber("epochs", history.Epochs.Count);
    json.WriteNumber("train_samples", mnist.Train.Count);
    json.WriteNumber("steps_per_epoch", (mnist.Train.Count + options.Batch - 1) / options.Batch);
    // With copies, an epoch took as long as its slowest copy (each copy's own below).
    json.WriteStartArray("epoch_seconds");
    for (int e = 0; e < history.Seconds.Count; e++)
    {
        json.WriteNumberValue(histories.Max(h => h.Seconds[e]));
    }

    json.WriteEndArray();
    if (histories.Length > 1)
    {
        json.WriteStartArray("copy_epoch_seconds");
        foreach (History copy in histories)
        {
            json.WriteStartArray();
            foreach (double seconds in copy.Seconds)
            {
                json.WriteNumberValue(seconds);
            }

            json.WriteEndArray();
        }

        json.WriteEndArray();
    }
    json.WriteNumber("final_train_loss", history.Epochs[^1].Loss);
    json.WriteNumber("test_accuracy", test.Accuracy);
    json.WriteNumber("test_loss", test.Loss);
    json.WriteNumber("load_seconds", loadSeconds);
    json.WriteString("stop_reason", history.StopReason);
    json.WriteEndObject();
}

Console.Out.WriteLine();
return history.StopReason is null ? 0 : 1;

// MNIST from `directory`, or null after saying on stderr why it could not be read (an empty or missing folder, a missing,
// unreadable or corrupt file, a header asking for more memory than there is).
static MnistDataset? LoadMnist(string directory)
{
    try
    {
        return Mnist.Load(directory);
    }
    catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException or InsufficientMemoryException or ArgumentException)
    {
        Console.Error.WriteLine($"error: {ex.Message}");
        return null;
    }
}

static Sequential Build(CompareOptions options)
{
    var model = new Sequential(inputSize: Mnist.Features, seed: options.Seed);
    foreach (int width in options.Hidden)
    {
        model.Add(new Dense(width)).Add(new Relu());
    }

    model.Add(new Dense(Mnist.Classes));
    model.Compile(new SoftmaxCrossEntropy(), new Adam(new AdamOptions(LearningRate: 1e-3f, Epsilon: 1e-7f)), options.Batch);
    return model;
}

/// <summary>The command line, checked: every bad value is named in the message.</summary>
internal sealed record CompareOptions
{
    public const string Usage =
        "usage: NeuralCoreCompare --hidden H[-H2...] [--batch 32] [--epochs 4] [--threads N] [--seed 42] [--data data/mnist] [--copies N]\n" +
        "                         [--step-threads measured|fixed]\n" +
        "                                                     --copies N with --threads 1: N models trained at once, one thread each\n" +
        "                                                     --step-threads fixed: every step on the threads its size asks for, the gather streaming\n" +
        "                                                     (measured, the default: Fit's own timed choices of those threads or one, and of the gather's stores)\n" +
        "       NeuralCoreCompare --probe [--seconds 2]          one core's FMA peak (JSON: gflops, bits)\n" +
        "       NeuralCoreCompare --step --hidden H --batch B [--threads N] [--seconds 2] [--loop fit|plain|training-loop] [--read-every N]\n" +
        "                         [--step-data random|mnist]\n" +
        "                                                     the training step alone (--loop: as Fit runs it, a caller's own loop, or one in BeginTrainingLoop;\n" +
        "                                                     --read-every: the loop reads model.Parameters after every Nth step;\n" +
        "                                                     --step-data mnist: the first images from --data instead of random values, zeros skipped as in an epoch)\n" +
        "       NeuralCoreCompare --step --hidden H --batch B --threads 1 --copies N\n" +
        "                                                     N independent one-thread steps at once, each its own model on its own thread\n" +
        "                                                     (JSON: each copy's µs, their GFLOP/s summed): what N cores give when nothing is shared\n" +
        "       NeuralCoreCompare --pingpong [--seconds 2]       a cache line's round trip between two threads (JSON: ns)\n" +
        "       NeuralCoreCompare --contention [--threads 2] [--seconds 2]\n" +
        "                                                     the share of time busy threads lose to the host, one alone then all at once";

    /// <summary><c>train</c> (the default), <c>probe</c>, <c>pingpong</c> or <c>step</c>.</summary>
    public string Mode { get; init; } = "train";

    public double Seconds { get; init; } = 2;

    /// <summary>The hidden layers' widths: <c>--hidden 512-256</c> is 784-512-256-10.</summary>
    public int[] Hidden { get; init; } = [128];

    /// <summary>The widths as the command line writes them (<c>512-256</c>).</summary>
    public string HiddenText => string.Join('-', Hidden);

    /// <summary>One width as a JSON number (as every run before multi-layer models wrote it), several as a string.</summary>
    public string HiddenJson => Hidden.Length == 1 ? HiddenText : $"\"{HiddenText}\"";

    public int Batch { get; init; } = 32;

    /// <summary>How <c>--step</c> runs its steps: <c>fit</c> (the default), <c>plain</c> or <c>training-loop</c>.</summary>
    public string Loop { get; init; } = "fit";

    /// <summary><c>--copies N</c> with <c>--threads 1</c>: N independent one-thread trainings (or steps) at once (the host's ceiling for N threads).</summary>
    public int Copies { get; init; } = 1;

    /// <summary><c>--read-every N</c>: the loop reads <c>model.Parameters</c> after every Nth step (0, the default: never).</summary>
    public int ReadEvery { get; init; }

    /// <summary>
    /// <c>--step-data random</c> (the default: a batch of uniform values, no zero, the dense kernels) or <c>mnist</c>
    /// (the first training images from <c>--data</c>, whose zero pixels the products skip as in an epoch).
    /// </summary>
    public string StepData { get; init; } = "random";

    /// <summary>
    /// <c>--step-threads measured</c> (the default: <c>Fit</c> times its steps on all the threads and on one now and
    /// then and runs the rest on the faster, and on several threads times the batch gather's streaming and ordinary
    /// stores likewise, as a user's <c>Fit</c> does) or <c>fixed</c> (every step on the threads its size asks for, the
    /// gather streaming: a thread count's own speed, for a scaling table).
    /// </summary>
    public string StepThreads { get; init; } = "measured";

    public int Epochs { get; init; } = 4;

    public int Threads { get; init; } = Environment.ProcessorCount;

    public ulong Seed { get; init; } = 42;

    public string DataDirectory { get; init; } = Path.Combine("data", "mnist");

    public bool Help { get; init; }

    public static CompareOptions Parse(IReadOnlyList<string> args)
    {
        var options = new CompareOptions();
        for (int i = 0; i < args.Count; i++)
        {
            string name = args[i];
            if (name is "--help" or "-h")
            {
                options = options with { Help = true };
                continue;
            }

            if (name is "--probe" or "--step" or "--pingpong" or "--contention")
            {
                options = options with { Mode = name[2..] };
                continue;
            }

            string value = i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{name} needs a value.");
            options = name switch
            {
                "--hidden" => options with { Hidden = [.. value.Split('-').Select(width => Int(name, width, 1, 65_536))] },
                "--batch" => options with { Batch = Int(name, value, 1, 60_000) },
                "--epochs" => options with { Epochs = Int(name, value, 1, 10_000) },
                "--threads" => options with { Threads = Int(name, value, 1, 256) },
                "--seed" => options with
                {
                    Seed = ulong.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out ulong seed)
                        ? seed
                        : throw new ArgumentException($"--seed must be a non-negative integer; got '{value}'."),
                },
                "--data" => options with { DataDirectory = value },
                "--loop" => options with
                {
                    Loop = value is "fit" or "plain" or "training-loop"
                        ? value
                        : throw new ArgumentException($"--loop must be fit, plain or training-loop; got '{value}'."),
                },
                "--read-every" => options with { ReadEvery = Int(name, value, 0, 1_000_000) },
                "--step-data" => options with
                {
                    StepData = value is "random" or "mnist"
                        ? value
                        : throw new ArgumentException($"--step-data takes random or mnist, not '{value}'."),
                },
                "--step-threads" => options with
                {
                    StepThreads = value is "measured" or "fixed"
                        ? value
                        : throw new ArgumentException($"--step-threads must be measured or fixed; got '{value}'."),
                },
                "--copies" => options with { Copies = Int(name, value, 1, 256) },
                "--seconds" => options with
                {
                    Seconds = double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) && seconds is > 0 and <= 600
                        ? seconds
                        : throw new ArgumentException($"--seconds must be a number in (0, 600]; got '{value}'."),
                },
                _ => throw new ArgumentException($"unknown option '{name}'."),
            };
        }

        if (options.ReadEvery > 0 && options.Loop == "fit")
        {
            throw new ArgumentException("--read-every needs --loop plain or training-loop (Fit's steps have no reads between them).");
        }

        if (options.StepData != "random" && options.Mode != "step")
        {
            throw new ArgumentException("--step-data chooses the batch of --step; the other modes read no batch of it.");
        }

        if (options.Copies > 1 && (options.Mode is not ("step" or "train") || options.Threads != 1 || options.Loop != "fit" || options.ReadEvery > 0
            || options.StepData != "random"))
        {
            throw new ArgumentException("--copies runs one-thread trainings or steps (as Fit runs them, steps on random inputs): give --threads 1, with or without --step, and no --loop, --read-every or --step-data.");
        }

        return options;
    }

    private static int Int(string name, string value, int min, int max) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int result) && result >= min && result <= max
            ? result
            : throw new ArgumentException($"{name} must be an integer from {min} to {max}; got '{value}'.");
}
