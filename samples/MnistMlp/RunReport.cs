using System.Globalization;
using System.Text;
using System.Text.Json;
using NeuralCore.Scoring;
using NeuralCore.Training;

namespace MnistMlp;

/// <summary>Everything one training run measured, and the files that describe it.</summary>
internal sealed record RunReport(
    TrainSettings Settings,
    int Parameters,
    int TrainSamples,
    int ValidationSamples,
    int TestSamples,
    int ThreadsUsed,
    string DataSource,
    double LoadSeconds,
    History History,
    double TestLoss,
    double TestAccuracy,
    ConfusionMatrix Confusion,
    string Summary)
{
    private static readonly CultureInfo Inv = Formats.Culture;

    public double TrainSeconds => History.TotalSeconds;

    /// <summary>history.csv: one row per epoch.</summary>
    public string HistoryCsv()
    {
        var csv = new StringBuilder("epoch,loss,accuracy,val_loss,val_accuracy,seconds\n");
        foreach (EpochMetrics e in History.Epochs)
        {
            csv.Append(Inv, $"{e.Epoch},{e.Loss:R},{e.Accuracy:R},{Format(e.ValidationLoss)},{Format(e.ValidationAccuracy)},{e.Seconds:R}\n");
        }

        return csv.ToString();

        static string Format(double? value) => value is { } v ? v.ToString("R", Inv) : string.Empty;
    }

    /// <summary>report.json: config, per-epoch metrics, timings, test results, confusion matrix and per-class scores.</summary>
    public byte[] Json()
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteStartObject("config");
            json.WriteStartArray("hidden");
            foreach (int h in Settings.Hidden)
            {
                json.WriteNumberValue(h);
            }

            json.WriteEndArray();
            json.WriteNumber("epochs", Settings.Epochs);
            json.WriteNumber("batch_size", Settings.BatchSize);
            json.WriteString("optimizer", Settings.Optimizer);
            json.WriteNumber("learning_rate", Settings.EffectiveLearningRate);
            json.WriteString("schedule", Settings.Schedule);
            json.WriteNumber("warmup", Settings.Warmup);
            json.WriteString("loss", Settings.Loss);
            json.WriteNumber("dropout", Settings.Dropout);
            json.WriteNumber("validation_split", Settings.ValidationSplit);
            json.WriteNumber("seed", Settings.Seed);
            json.WriteNumber("threads", ThreadsUsed);
            if (Settings.Preset is not null)
            {
                json.WriteString("preset", Settings.Preset);
            }

            json.WriteEndObject();
            json.WriteNumber("parameters", Parameters);
            json.WriteStartObject("data");
            json.WriteString("source", DataSource);
            json.WriteNumber("train_samples", TrainSamples);
            json.WriteNumber("validation_samples", ValidationSamples);
            json.WriteNumber("test_samples", TestSamples);
            json.WriteNumber("load_seconds", LoadSeconds);
            json.WriteEndObject();
            json.WriteStartArray("epochs");
            foreach (EpochMetrics e in History.Epochs)
            {
                json.WriteStartObject();
                json.WriteNumber("epoch", e.Epoch);
                json.WriteNumber("loss", e.Loss);
                json.WriteNumber("accuracy", e.Accuracy);
                WriteOptional(json, "val_loss", e.ValidationLoss);
                WriteOptional(json, "val_accuracy", e.ValidationAccuracy);
                json.WriteNumber("seconds", e.Seconds);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteNumber("train_seconds", TrainSeconds);
            if (History.StopReason is { } reason)
            {
                json.WriteString("stop_reason", reason);
            }

            json.WriteNumber("test_loss", TestLoss);
            json.WriteNumber("test_accuracy", TestAccuracy);
            json.WriteStartArray("confusion_matrix");
            foreach (long[] row in Confusion.ToArray())
            {
                json.WriteStartArray();
                foreach (long count in row)
                {
                    json.WriteNumberValue(count);
                }

                json.WriteEndArray();
            }

            json.WriteEndArray();
            json.WriteStartArray("per_class");
            for (int c = 0; c < Confusion.Classes; c++)
            {
                json.WriteStartObject();
                json.WriteNumber("class", c);
                json.WriteNumber("precision", Confusion.Precision(c));
                json.WriteNumber("recall", Confusion.Recall(c));
                json.WriteNumber("f1", Confusion.F1(c));
                json.WriteNumber("support", Confusion.Support(c));
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return stream.ToArray();

        static void WriteOptional(Utf8JsonWriter json, string name, double? value)
        {
            if (value is { } v)
            {
                json.WriteNumber(name, v);
            }
            else
            {
                json.WriteNull(name);
            }
        }
    }

    /// <summary>report.md: the assignment's four questions answered from this run's numbers.</summary>
    public string Markdown()
    {
        var md = new StringBuilder();
        string hidden = string.Join("-", Settings.Hidden);
        md.Append(Inv, $"# MNIST MLP 784-{hidden}-10: training report\n\n");
        md.Append(Inv, $"Configuration: hidden {string.Join(", ", Settings.Hidden)}, {Settings.Epochs} epochs, batch {Settings.BatchSize}, ")
          .Append(Inv, $"{Settings.Optimizer} (learning rate {Settings.EffectiveLearningRate:G4}{(Settings.Schedule == "cosine" ? $", cosine schedule, warmup {Settings.Warmup:G3}" : "")}), loss {Settings.Loss}, dropout {Settings.Dropout:G3}, ")
          .Append(Inv, $"validation split {Settings.ValidationSplit:G3}, seed {Settings.Seed}, {ThreadsUsed} thread(s); {Parameters:N0} parameters. ")
          .Append(Inv, $"Data: {TrainSamples:N0} training, {ValidationSamples:N0} validation and {TestSamples:N0} test samples ({DataSource}).\n\n");

        md.Append("## 1. How long did it train?\n\n");
        md.Append(Inv, $"{TrainSeconds:0.00} s for {History.Epochs.Count} epoch(s), {TrainSeconds / Math.Max(1, History.Epochs.Count):0.00} s per epoch on average ")
          .Append(Inv, $"(validation included; loading the data took {LoadSeconds:0.00} s more).");
        if (History.StopReason is { } reason)
        {
            md.Append(Inv, $" Training ended early: {reason}.");
        }

        md.Append("\n\n| epoch | loss | accuracy | val_loss | val_accuracy | seconds |\n|---:|---:|---:|---:|---:|---:|\n");
        foreach (EpochMetrics e in History.Epochs)
        {
            md.Append(Inv, $"| {e.Epoch} | {e.Loss:0.0000} | {e.Accuracy:0.0000} | {Opt(e.ValidationLoss)} | {Opt(e.ValidationAccuracy)} | {e.Seconds:0.00} |\n");
        }

        md.Append("\n## 2. What accuracy did it reach?\n\n");
        EpochMetrics last = History.Epochs[^1];
        md.Append(Inv, $"Test accuracy **{TestAccuracy:P2}** (test loss {TestLoss:0.0000}) on {TestSamples:N0} unseen images. ")
          .Append(Inv, $"In the last epoch: training accuracy {last.Accuracy:P2}");
        if (last.ValidationAccuracy is { } va)
        {
            md.Append(Inv, $", validation accuracy {va:P2}");
        }

        md.Append(".\n\n![loss and accuracy curves](curves.png)\n\n");

        md.Append("## 3. What does the confusion matrix show?\n\n");
        md.Append(Inv, $"Rows are true digits, columns predictions; the diagonal holds {Confusion.Accuracy:P2} of the test set. ");
        var confused = Confusion.MostConfused(5);
        if (confused.Count > 0)
        {
            md.Append("The most frequent confusions are ")
              .Append(string.Join(", ", confused.Select(c => string.Create(Inv, $"{c.Actual} taken for {c.Predicted} ({c.Count}×)"))))
              .Append(". ");
        }

        var weakest = Enumerable.Range(0, Confusion.Classes).OrderBy(Confusion.F1).Take(3).ToArray();
        md.Append("The weakest classes by F1 are ")
          .Append(string.Join(", ", weakest.Select(c => string.Create(Inv,
              $"{c} (F1 {Confusion.F1(c):0.000}, recall {Confusion.Recall(c):0.000}, precision {Confusion.Precision(c):0.000})"))))
          .Append(Inv, $"; the strongest is {Enumerable.Range(0, Confusion.Classes).MaxBy(Confusion.F1)}.\n\n");
        md.Append("![confusion matrix](confusion.png)\n\n| class | precision | recall | F1 | support |\n|---:|---:|---:|---:|---:|\n");
        for (int c = 0; c < Confusion.Classes; c++)
        {
            md.Append(Inv, $"| {c} | {Confusion.Precision(c):0.0000} | {Confusion.Recall(c):0.0000} | {Confusion.F1(c):0.0000} | {Confusion.Support(c)} |\n");
        }

        md.Append("\n## 4. Does it overfit?\n\n").Append(Overfitting(History)).Append("\n\n## Model\n\n```\n").Append(Summary).Append("```\n");
        return md.ToString();

        static string Opt(double? value) => value is { } v ? v.ToString("0.0000", Inv) : "-";
    }

    /// <summary>Judges overfitting from the training and validation trends.</summary>
    internal static string Overfitting(History history)
    {
        IReadOnlyList<EpochMetrics> epochs = history.Epochs;
        EpochMetrics first = epochs[0], last = epochs[^1];
        if (last.ValidationLoss is null)
        {
            return "There is no validation data (validation split 0), so overfitting cannot be judged from this run: train with --validation-split 0.1 or more.";
        }

        EpochMetrics best = epochs.MinBy(e => e.ValidationLoss!.Value)!;
        double gap = last.Accuracy - last.ValidationAccuracy!.Value;
        string trends = string.Create(Inv,
            $"Training loss went from {first.Loss:0.0000} to {last.Loss:0.0000} and validation loss from {first.ValidationLoss:0.0000} to {last.ValidationLoss:0.0000} (lowest {best.ValidationLoss:0.0000}, epoch {best.Epoch}); in the last epoch training accuracy is {last.Accuracy:P2} against {last.ValidationAccuracy:P2} on validation, a gap of {gap * 100:0.00} points.");
        if (epochs.Count == 1)
        {
            return trends + " One epoch shows no trend: train for more epochs to judge overfitting.";
        }

        bool valRose = best.Epoch < last.Epoch && last.ValidationLoss!.Value > best.ValidationLoss!.Value * 1.02;
        bool trainFell = last.Loss < epochs[best.Epoch - 1].Loss;
        if (valRose && trainFell)
        {
            return trends + string.Create(Inv,
                $" **Yes, it overfits after epoch {best.Epoch}**: validation loss has risen {100 * (last.ValidationLoss!.Value / best.ValidationLoss!.Value - 1):0.0}% from its minimum while training loss kept falling. Stopping at epoch {best.Epoch} (EarlyStopping on val_loss with restored best weights), dropout or a smaller hidden layer would help.");
        }

        if (gap > 0.02)
        {
            return trends + " **Mildly**: validation loss has not risen, but training accuracy runs clearly ahead of validation accuracy, so the model fits the training set better than it generalizes; more epochs would likely widen the gap.";
        }

        return trends + " **No sign of overfitting**: validation loss is still at or near its minimum and the two accuracies are close, so the model could train longer or grow before overfitting.";
    }
}
