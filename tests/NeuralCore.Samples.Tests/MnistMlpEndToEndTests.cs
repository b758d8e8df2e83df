using System.Text.Json;
using MnistMlp;

namespace NeuralCore.Samples.Tests;

/// <summary>The trainer on the real MNIST repository copy: 2 epochs of 784-128-10 must reach 96% test accuracy.</summary>
[Collection(SerialTests.Name)]
public sealed class MnistMlpEndToEndTests : IDisposable
{
    private readonly string _out = Directory.CreateTempSubdirectory("neuralcore-e2e-").FullName;

    public void Dispose() => Directory.Delete(_out, recursive: true);

    [Fact]
    public void Two_epochs_of_hidden_128_reach_96_percent_and_write_every_output()
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var settings = new TrainSettings { Hidden = [128], Epochs = 2, OutputDirectory = _out };
        int exit = new Trainer(output, error, interactive: false).Train(settings, CancellationToken.None);
        Assert.True(exit == 0, $"exit {exit}: {error}");

        foreach (string file in new[] { "history.csv", "report.json", "report.md", "curves.png", "confusion.png", "roc.png", "misclassified.png", "model.ncm" })
        {
            Assert.True(new FileInfo(Path.Combine(_out, file)).Length > 0, $"{file} is missing or empty");
        }

        // Redirected, the per-digit table has ASCII borders (Spectre drew rounded box characters into logs too).
        Assert.Contains("| digit ", output.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("│", output.ToString(), StringComparison.Ordinal);

        // Nothing temporary is left behind, and the history is the library's CsvLogger file.
        Assert.Empty(TemporaryFiles.In(_out));
        Assert.Equal("epoch,accuracy,loss,val_accuracy,val_loss,seconds", File.ReadLines(Path.Combine(_out, "history.csv")).First());

        using JsonDocument report = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(_out, "report.json")));
        JsonElement root = report.RootElement;
        double accuracy = root.GetProperty("test_accuracy").GetDouble();
        Assert.True(accuracy >= 0.96, $"test accuracy {accuracy}");
        Assert.Equal(2, root.GetProperty("epochs").GetArrayLength());
        Assert.True(root.GetProperty("train_seconds").GetDouble() > 0);
        long[][] confusion = [.. root.GetProperty("confusion_matrix").EnumerateArray().Select(r => r.EnumerateArray().Select(c => c.GetInt64()).ToArray())];
        Assert.Equal(10, confusion.Length);
        Assert.Equal(10_000, confusion.Sum(r => r.Sum()));
        Assert.Equal(accuracy, confusion.Select((r, i) => r[i]).Sum() / 10_000.0, 9);
        Assert.Equal(10, root.GetProperty("per_class").GetArrayLength());
        foreach (JsonElement digit in root.GetProperty("per_class").EnumerateArray())
        {
            Assert.InRange(digit.GetProperty("auc").GetDouble(), 0.99, 1.0);
        }

        Assert.InRange(root.GetProperty("averages").GetProperty("macro_auc").GetDouble(), 0.99, 1.0);
        Assert.InRange(root.GetProperty("test_top2_accuracy").GetDouble(), accuracy, 1.0);
        JsonElement mistakes = root.GetProperty("most_confident_mistakes");
        Assert.Equal(24, mistakes.GetArrayLength());
        Assert.True(mistakes[0].GetProperty("confidence").GetDouble() >= mistakes[23].GetProperty("confidence").GetDouble());
        Assert.NotEqual(mistakes[0].GetProperty("true").GetInt32(), mistakes[0].GetProperty("predicted").GetInt32());
        Assert.Contains(root.GetProperty("overfitting").GetProperty("answer").GetString(), new[] { "Yes", "Slightly", "No" });

        // The outputs form one run's set: the manifest lists each with its hash, under the report's run id.
        Assert.Empty(RunManifest.Verify(_out));
        using (JsonDocument manifest = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(_out, RunManifest.FileName))))
        {
            Assert.Equal(root.GetProperty("runId").GetString(), manifest.RootElement.GetProperty("runId").GetString());
            Assert.Equal(8, manifest.RootElement.GetProperty("files").EnumerateObject().Count());
        }

        Assert.Contains("Epoch 2/2", output.ToString(), StringComparison.Ordinal);

        string markdown = File.ReadAllText(Path.Combine(_out, "report.md"));
        Assert.Contains("no L2 penalty, glorot_uniform initializer, validation split 0.1,", markdown, StringComparison.Ordinal);
        foreach (string question in new[] { "How long did it train?", "What accuracy did it reach?", "What do the confusion matrix and the ROC curves show?", "Does it overfit?" })
        {
            Assert.Contains(question, markdown, StringComparison.Ordinal);
        }

        // The saved model evaluates to the same test accuracy.
        var evaluation = new StringWriter();
        string evaluated = Path.Combine(_out, "evaluated");
        Assert.Equal(0, new Trainer(evaluation, error, false).Evaluate(Path.Combine(_out, "model.ncm"), settings, evaluated, CancellationToken.None));
        Assert.Contains((accuracy * 100).ToString("0.00", System.Globalization.CultureInfo.InvariantCulture) + "%", evaluation.ToString(), StringComparison.Ordinal);
        foreach (string file in new[] { "evaluation.md", "confusion.png", "roc.png", "misclassified.png" })
        {
            Assert.True(new FileInfo(Path.Combine(evaluated, file)).Length > 0, $"evaluate --out: {file} is missing or empty");
        }

        Assert.Empty(RunManifest.Verify(evaluated));

        Assert.Empty(TemporaryFiles.In(_out, recursive: true));
    }

    [Fact]
    public void Early_stopping_restores_the_best_epoch_and_onnx_writes_the_same_model()
    {
        // Patience 1 on val_loss at a high rate: the validation loss stops falling within a few epochs of 20.
        var settings = new TrainSettings
        {
            Hidden = [32],
            Epochs = 20,
            BatchSize = 128,
            LearningRate = 0.01f,
            EarlyStoppingPatience = 1,
            Monitor = "val_loss",
            Onnx = true,
            OutputDirectory = _out,
        };
        var output = new StringWriter();
        var error = new StringWriter();
        int exit = new Trainer(output, error, interactive: false).Train(settings, CancellationToken.None);
        Assert.True(exit == 0, $"exit {exit}: {error}");
        Assert.Contains("Stopped early:", output.ToString(), StringComparison.Ordinal);

        using JsonDocument report = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(_out, "report.json")));
        JsonElement root = report.RootElement;
        Assert.False(string.IsNullOrEmpty(root.GetProperty("stop_reason").GetString()));
        double[] valLosses = [.. root.GetProperty("epochs").EnumerateArray().Select(e => e.GetProperty("val_loss").GetDouble())];
        Assert.InRange(valLosses.Length, 2, 19);
        int best = Array.IndexOf(valLosses, valLosses.Min());
        Assert.True(best < valLosses.Length - 1, $"the last epoch was the best ({string.Join(", ", valLosses)}), so nothing stopped it");

        // The saved model is the best epoch's: its loss on the validation images (the last 10% of the training set) is
        // the history's minimum, not the last epoch's.
        NeuralCore.Data.MnistDataset data = NeuralCore.Data.Mnist.Load(NeuralCore.Data.MnistLocator.FindRepositoryCopy(NeuralCore.Data.MnistLocator.DefaultSearchStarts)!);
        int validationStart = data.Train.Count - (data.Train.Count / 10);
        NeuralCore.Models.Sequential saved = NeuralCore.Serialization.ModelFile.Load(Path.Combine(_out, "model.ncm"));
        NeuralCore.Training.Evaluation restored = NeuralCore.Training.ModelTraining.Evaluate(saved, data.Train.Slice(validationStart, data.Train.Count - validationStart));
        Assert.Equal(valLosses[best], restored.Loss, 4);
        Assert.NotEqual(valLosses[^1], restored.Loss, 4);
        Assert.Equal(root.GetProperty("test_accuracy").GetDouble(), NeuralCore.Training.ModelTraining.Evaluate(saved, data.Test).Accuracy, 9);

        // model.onnx, read back by the library's ONNX reader, predicts what model.ncm predicts, and the manifest lists it.
        NeuralCore.Models.Sequential exported = NeuralCore.Onnx.OnnxImport.Load(Path.Combine(_out, "model.onnx"));
        int count = 200;
        ReadOnlySpan<float> images = data.Test.Features.AsSpan(0, count * 784);
        float[] expected = new float[count * 10], actual = new float[count * 10];
        saved.Predict(images, expected, count);
        exported.Predict(images, actual, count);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5f, $"output {i}: model.ncm {expected[i]}, model.onnx {actual[i]}");
        }

        Assert.Empty(RunManifest.Verify(_out));
        using JsonDocument manifest = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(_out, RunManifest.FileName)));
        Assert.True(manifest.RootElement.GetProperty("files").TryGetProperty("model.onnx", out _), "manifest.json does not list model.onnx");
        Assert.Empty(TemporaryFiles.In(_out, recursive: true));
    }

    [Fact]
    public void A_sweep_compares_deep_and_shallow_architectures_with_curves_and_matrices_for_each()
    {
        var settings = new TrainSettings { Epochs = 1, BatchSize = 128, OutputDirectory = _out };
        int exit = new Trainer(TextWriter.Null, TextWriter.Null, false).Sweep(settings, [[16], [32, 16]], CancellationToken.None);
        Assert.Equal(0, exit);
        foreach (string folder in new[] { "784-16-10", "784-32-16-10" })
        {
            foreach (string file in new[] { "curves.png", "confusion.png", "roc.png", "history.csv" })
            {
                Assert.True(File.Exists(Path.Combine(_out, folder, file)), $"{folder}/{file} is missing");
            }
        }

        string report = File.ReadAllText(Path.Combine(_out, "report.md"));
        Assert.Contains("| 32,16 | 25,818 |", report, StringComparison.Ordinal);
        Assert.Contains("[curves](784-32-16-10/curves.png)", report, StringComparison.Ordinal);
        // Which weights the test column scores (a best epoch beside the last epoch's test accuracy read as the best's).
        Assert.Contains("The test accuracy is that of the weights the last epoch left, not of the best epoch", report, StringComparison.Ordinal);
        // The settings in a training report's words: the learning rate and normalization had been left out.
        Assert.Contains($"Configuration: {settings.Describe()}, seed 42,", report, StringComparison.Ordinal);
        Assert.Contains("adam (learning rate 0.001), loss crossentropy, no normalization,", report, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(_out, "sweep.png")));
        Assert.Equal(3, File.ReadAllLines(Path.Combine(_out, "sweep.csv")).Length);
        Assert.Empty(RunManifest.Verify(_out));
        Assert.Contains("784-32-16-10/misclassified.png", File.ReadAllText(Path.Combine(_out, RunManifest.FileName)), StringComparison.Ordinal);
        Assert.Empty(TemporaryFiles.In(_out, recursive: true));
    }

    [Fact]
    public void A_sweep_at_batch_1_that_holds_out_nearly_everything_still_runs()
    {
        // 600 images to train on: the warm-up's own split once held out all of its 72 and failed.
        var settings = new TrainSettings { Epochs = 1, BatchSize = 1, ValidationSplit = 0.99, OutputDirectory = _out };
        Assert.Equal(0, new Trainer(TextWriter.Null, TextWriter.Null, false).Sweep(settings, [[8]], CancellationToken.None));
        Assert.Empty(RunManifest.Verify(_out));
    }

    [Fact]
    public void Train_and_sweep_refuse_a_folder_that_holds_another_commands_outputs_before_loading_data()
    {
        // A sweep's report.md landed over a training run's report.json and model.ncm, and verify passed the mixed folder.
        var trainer = new Trainer(TextWriter.Null, TextWriter.Null, false);
        Directory.CreateDirectory(_out);
        File.WriteAllText(Path.Combine(_out, "model.ncm"), "a training run's");
        var e = Assert.Throws<IOException>(() => trainer.Sweep(new TrainSettings { Epochs = 1, OutputDirectory = _out }, [[8]], CancellationToken.None));
        Assert.Contains("holds another command's outputs (model.ncm), which would stay beside a sweep's", e.Message, StringComparison.Ordinal);

        File.Delete(Path.Combine(_out, "model.ncm"));
        Directory.CreateDirectory(Path.Combine(_out, "784-16-10"));
        File.WriteAllText(Path.Combine(_out, "evaluation.md"), "an evaluation's");
        e = Assert.Throws<IOException>(() => trainer.Train(new TrainSettings { Epochs = 1, OutputDirectory = _out }, CancellationToken.None));
        Assert.Contains("holds another command's outputs (evaluation.md, 784-16-10/), which would stay beside a training run's", e.Message, StringComparison.Ordinal);
        Assert.Equal(["evaluation.md"], Directory.GetFiles(_out).Select(Path.GetFileName).Where(n => !n!.StartsWith('.')));
    }

    [Fact]
    public void A_sweep_names_the_folders_an_earlier_sweep_left_of_other_architectures()
    {
        // They sat beside the new report as if it had trained them; they stay (another run's results), named as such.
        Directory.CreateDirectory(Path.Combine(_out, "784-12-10"));
        var error = new StringWriter();
        Assert.Equal(0, new Trainer(TextWriter.Null, error, false).Sweep(new TrainSettings { Epochs = 1, BatchSize = 256, OutputDirectory = _out }, [[8]], CancellationToken.None));
        Assert.Contains("Folder(s) of architectures this sweep did not train, left by an earlier run: 784-12-10.", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("**Not of this sweep:** `784-12-10/` in this folder is left by an earlier run", File.ReadAllText(Path.Combine(_out, "report.md")), StringComparison.Ordinal);
        Assert.True(Directory.Exists(Path.Combine(_out, "784-12-10")));
        Assert.DoesNotContain("784-12-10", File.ReadAllText(Path.Combine(_out, RunManifest.FileName)), StringComparison.Ordinal);
    }

    [Fact]
    public void A_sweep_without_validation_says_its_rows_are_of_the_last_epoch_and_names_its_preset()
    {
        // It said the best epoch was the one with the best val_accuracy, which no epoch reported, and left out the
        // preset, the learning rate and the cosine schedule.
        var settings = TrainSettings.Fast with { Epochs = 1, OutputDirectory = _out };
        Assert.Equal(0, new Trainer(TextWriter.Null, TextWriter.Null, false).Sweep(settings, [[8]], CancellationToken.None));
        string report = File.ReadAllText(Path.Combine(_out, "report.md"));
        Assert.Contains("Configuration (--preset fast, with any option given beside it): 1 epochs, batch 128, adam (learning rate 0.003, cosine schedule, warmup 0.1)", report, StringComparison.Ordinal);
        Assert.Contains("Without validation data no epoch can be picked as the best", report, StringComparison.Ordinal);
        Assert.DoesNotContain("the one with the best val_accuracy", report, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_data_gives_a_clear_error_naming_the_file()
    {
        string data = Directory.CreateTempSubdirectory("neuralcore-baddata-").FullName;
        try
        {
            foreach (string name in new[] { "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte" })
            {
                File.WriteAllBytes(Path.Combine(data, name), [0, 0, 8, 3, 0, 0, 0, 5]);
            }

            var settings = new TrainSettings { Epochs = 1, DataDirectory = data, OutputDirectory = _out };
            var ex = Assert.Throws<InvalidDataException>(() => new Trainer(TextWriter.Null, TextWriter.Null, false).Train(settings, CancellationToken.None));
            Assert.Contains(data, ex.Message, StringComparison.Ordinal);
            Assert.Contains("idx1-ubyte", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public void A_validation_split_that_leaves_a_part_empty_names_the_option_before_training()
    {
        // Fit refused it naming FitOptions.ValidationSplit ("with ValidationSplit=0.1"), which no user typed.
        string data = Directory.CreateTempSubdirectory("neuralcore-tinydata-").FullName;
        try
        {
            // One training image; twenty test images holding every digit (the trainer checks that first).
            WriteIdx(Path.Combine(data, "train-images-idx3-ubyte"), [1, 28, 28], new byte[784]);
            WriteIdx(Path.Combine(data, "train-labels-idx1-ubyte"), [1], [3]);
            WriteIdx(Path.Combine(data, "t10k-images-idx3-ubyte"), [20, 28, 28], new byte[20 * 784]);
            WriteIdx(Path.Combine(data, "t10k-labels-idx1-ubyte"), [20], [.. Enumerable.Range(0, 20).Select(i => (byte)(i % 10))]);

            var settings = new TrainSettings { Epochs = 1, ValidationSplit = 0.1, DataDirectory = data, OutputDirectory = _out };
            var output = new StringWriter();
            var ex = Assert.Throws<ArgumentException>(() => new Trainer(output, TextWriter.Null, false).Train(settings, CancellationToken.None));
            Assert.Equal("--validation-split 0.1 of the 1 training images leaves 0 to train on and 1 to validate on; each part needs at least one: give another --validation-split, or 0 for none.", ex.Message);
            Assert.DoesNotContain("Epoch", output.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public void A_regular_file_given_as_the_data_folder_names_data()
    {
        // The library's message ("The MNIST folder '...' is a file") named no option of the trainer.
        string file = Path.Combine(_out, "not-a-folder");
        File.WriteAllText(file, "x");
        var settings = new TrainSettings { Epochs = 1, DataDirectory = file, OutputDirectory = Path.Combine(_out, "run") };
        var ex = Assert.Throws<DirectoryNotFoundException>(() => new Trainer(TextWriter.Null, TextWriter.Null, false).Train(settings, CancellationToken.None));
        Assert.StartsWith($"--data: The MNIST folder '{file}' is a file;", ex.Message, StringComparison.Ordinal);
    }

    // An uncompressed unsigned-byte IDX file.
    private static void WriteIdx(string path, int[] dimensions, byte[] body)
    {
        var bytes = new List<byte> { 0, 0, 8, (byte)dimensions.Length };
        foreach (int size in dimensions)
        {
            bytes.AddRange([(byte)(size >> 24), (byte)(size >> 16), (byte)(size >> 8), (byte)size]);
        }

        File.WriteAllBytes(path, [.. bytes, .. body]);
    }
}

/// <summary>Ctrl+C: the trainer stops after the current step, saves a checkpoint and exits 130.</summary>
public sealed class MnistMlpCancellationTests : IDisposable
{
    private readonly string _out = Directory.CreateTempSubdirectory("neuralcore-cancel-").FullName;

    public void Dispose() => Directory.Delete(_out, recursive: true);

    [Fact]
    public void Cancellation_saves_a_loadable_checkpoint_and_exits_130()
    {
        // Cancelled as soon as the first epoch is reported: Fit checks the token before every step, so the run always
        // stops with exactly epoch 1's 1,688 steps (54,000 images in batches of 32) done. No timer, no race with loading.
        using var cts = new CancellationTokenSource();
        var output = new CancelOnLine("Epoch 1/", cts);
        var error = new StringWriter();
        var settings = new TrainSettings { Hidden = [16], Epochs = 3, OutputDirectory = _out };
        int exit = new Trainer(output, error, interactive: false).Train(settings, cts.Token);
        Assert.Equal(Trainer.Interrupted, exit);
        Assert.Contains("Interrupted", error.ToString(), StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_out, "report.json")));

        string checkpoint = Path.Combine(_out, "checkpoint.ncm");
        Assert.Contains(checkpoint, error.ToString(), StringComparison.Ordinal);
        NeuralCore.Models.Sequential saved = NeuralCore.Serialization.ModelFile.Load(checkpoint);
        Assert.True(saved.IsCompiled);
        Assert.Equal(1, saved.EpochsTrained);
        Assert.Equal(1688, saved.Optimizer!.Iterations);
        Assert.Equal("epoch,accuracy,loss,val_accuracy,val_loss,seconds", File.ReadLines(Path.Combine(_out, "checkpoint-history.csv")).First());
        Assert.Empty(TemporaryFiles.In(_out));
    }

    [Fact]
    public void An_interrupt_before_the_first_step_keeps_an_earlier_checkpoint()
    {
        string checkpoint = Path.Combine(_out, "checkpoint.ncm");
        byte[] earlier = [1, 2, 3];
        File.WriteAllBytes(checkpoint, earlier);

        // Cancelled when the trainer announces training, after the data loaded and before the first step.
        using var cts = new CancellationTokenSource();
        var error = new StringWriter();
        int exit = new Trainer(new CancelOnLine("Training on", cts), error, interactive: false)
            .Train(new TrainSettings { Hidden = [16], Epochs = 1, OutputDirectory = _out }, cts.Token);
        Assert.Equal(Trainer.Interrupted, exit);
        Assert.Contains("before the first training step", error.ToString(), StringComparison.Ordinal);
        Assert.Equal(earlier, File.ReadAllBytes(checkpoint));
        Assert.Empty(TemporaryFiles.In(_out));
    }

    [Fact]
    public void An_interrupt_within_the_first_epoch_keeps_an_earlier_checkpoint()
    {
        string checkpoint = Path.Combine(_out, "checkpoint.ncm");
        byte[] earlier = [1, 2, 3];
        File.WriteAllBytes(checkpoint, earlier);

        // Cancelled at the progress bar's first redraw, after the first step of an epoch of 3,750 (784-2048-10 at batch
        // 16, seconds an epoch, so no epoch ends first): that one step replaced the earlier checkpoint.
        using var cts = new CancellationTokenSource();
        var error = new StringWriter();
        int exit = new Trainer(new CancelOnWrite("\r", cts), error, interactive: true)
            .Train(new TrainSettings { Hidden = [2048], BatchSize = 16, Epochs = 1, OutputDirectory = _out }, cts.Token);
        Assert.Equal(Trainer.Interrupted, exit);
        Assert.Contains("within the first epoch: the earlier checkpoint", error.ToString(), StringComparison.Ordinal);
        Assert.Equal(earlier, File.ReadAllBytes(checkpoint));
        Assert.Empty(TemporaryFiles.In(_out));
    }

    [Fact]
    public void An_interrupted_sweep_reports_the_finished_architectures_and_writes_no_manifest()
    {
        // Cancelled when the second architecture is announced: its first step sees the token. The sweep's report said
        // nothing of the missing one, and its manifest let verify pass the set as finished.
        using var cts = new CancellationTokenSource();
        var error = new StringWriter();
        var settings = new TrainSettings { Epochs = 1, BatchSize = 128, OutputDirectory = _out };
        int exit = new Trainer(new CancelOnLine("hidden 32:", cts), error, interactive: false).Sweep(settings, [[16], [32], [64]], cts.Token);
        Assert.Equal(Trainer.Interrupted, exit);
        string report = File.ReadAllText(Path.Combine(_out, "report.md"));
        Assert.Contains("**Unfinished:** 1 of 3 architectures finished; missing 32 (interrupted), 64 (not started).", report, StringComparison.Ordinal);
        Assert.Equal(2, File.ReadAllLines(Path.Combine(_out, "sweep.csv")).Length);
        Assert.False(File.Exists(Path.Combine(_out, RunManifest.FileName)));
        Assert.Contains($"has no {RunManifest.FileName}", Assert.Single(RunManifest.Verify(_out)), StringComparison.Ordinal);
        Assert.Equal(["784-16-10"], Directory.GetDirectories(_out).Select(Path.GetFileName));
        Assert.Empty(TemporaryFiles.In(_out, recursive: true));
    }

    [Fact]
    public void Evaluate_refuses_an_out_that_holds_a_training_run_before_loading_anything()
    {
        // Its pictures replaced the run's, under the run's report.md, and its manifest replaced the run's.
        var model = new NeuralCore.Models.Sequential(784).Add(new NeuralCore.Layers.Dense(10));
        model.Compile(new NeuralCore.Losses.SoftmaxCrossEntropy(), new NeuralCore.Optimizers.Adam());
        string path = Path.Combine(_out, "m.ncm");
        NeuralCore.Serialization.ModelFile.Save(model, path);
        string run = Path.Combine(_out, "run");
        Directory.CreateDirectory(run);
        File.WriteAllText(Path.Combine(run, "report.md"), "a run's report");
        File.WriteAllText(Path.Combine(run, "confusion.png"), "a run's picture");
        var settings = new TrainSettings { DataDirectory = Path.Combine(_out, "no-data-needed") };
        var ex = Assert.Throws<IOException>(() => new Trainer(TextWriter.Null, TextWriter.Null, false).Evaluate(path, settings, run, CancellationToken.None));
        Assert.Contains("holds a training run's outputs (report.md)", ex.Message, StringComparison.Ordinal);
        Assert.Equal("a run's picture", File.ReadAllText(Path.Combine(run, "confusion.png")));
        Assert.Empty(TemporaryFiles.In(run));
    }

    /// <summary>A writer that cancels when a line starting with a prefix is written.</summary>
    private sealed class CancelOnWrite(string prefix, CancellationTokenSource cancellation) : StringWriter
    {
        public override void Write(string? value)
        {
            base.Write(value);
            if (value is not null && value.StartsWith(prefix, StringComparison.Ordinal))
            {
                cancellation.Cancel();
            }
        }
    }

    private sealed class CancelOnLine(string prefix, CancellationTokenSource cancellation) : StringWriter
    {
        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            if (value is not null && value.StartsWith(prefix, StringComparison.Ordinal))
            {
                cancellation.Cancel();
            }
        }
    }
}
