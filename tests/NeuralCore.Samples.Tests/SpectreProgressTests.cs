using System.Text.RegularExpressions;
using MnistMlp;
using NeuralCore.Data;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Training;
using Spectre.Console.Testing;

namespace NeuralCore.Samples.Tests;

public sealed class SpectreProgressTests
{
    private const int Width = 60;

    [Fact]
    public void Finished_epochs_read_as_the_library_loggers_lines_and_the_running_line_fits_the_terminal()
    {
        using TestConsole console = Terminal();
        var progress = new SpectreProgress(console);
        var reference = new StringWriter();
        // Slow steps, so that the display redraws while the epochs run.
        var slow = new OnStep((_, _) => Thread.Sleep(110));
        Sequential model = Model();
        progress.Run(() => model.Fit(Data(), Options(progress, new ProgressLogger(2, reference, interactive: false), slow)));

        string[] expected = reference.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, expected.Length);
        // Spectre wraps a long line at the terminal's width, between words.
        string flowing = Regex.Replace(Visible(console.Output), @"\s+", " ");
        foreach (string line in expected)
        {
            Assert.Equal(1, Regex.Count(flowing, Regex.Escape(Regex.Replace(line, @"\s+", " "))));
        }

        string[] frames = [.. Frames(console.Output).Where(f => f.StartsWith("Epoch ", StringComparison.Ordinal) && f.Contains('━', StringComparison.Ordinal))];
        Assert.NotEmpty(frames);
        // 60 columns leave the values 25: "loss: 1.0986 - accuracy: 0.3750" is cut, not wrapped onto a second line.
        Assert.Contains(frames, f => f.Contains(" loss: ", StringComparison.Ordinal) && f.EndsWith('…'));
        Assert.All(Frames(console.Output), f => Assert.True(f.Length <= Width, $"'{f}' is {f.Length} columns wide"));
    }

    [Fact]
    public void An_interrupted_training_ends_the_display_and_a_later_one_draws_again()
    {
        using TestConsole console = Terminal();
        var progress = new SpectreProgress(console);
        using var cancel = new CancellationTokenSource();
        var stop = new OnStep((_, batch) =>
        {
            if (batch == 2)
            {
                cancel.Cancel();
            }
        });
        FitOptions options = Options(progress, stop) with { CancellationToken = cancel.Token };
        Sequential model = Model();
        Assert.ThrowsAny<OperationCanceledException>(() => progress.Run(() => model.Fit(Data(), options)));
        Assert.DoesNotContain("Epoch 1/2 -", Visible(console.Output), StringComparison.Ordinal);

        // The display released the console: a second training draws and reports its epochs.
        var again = new SpectreProgress(console);
        again.Run(() => model.Fit(Data(), Options(again)));
        Assert.Contains("Epoch 2/2 - 4 steps - ", Visible(console.Output), StringComparison.Ordinal);
    }

    [Fact]
    public void Drawing_outside_Run_is_refused_by_name()
    {
        using TestConsole console = Terminal();
        var progress = new SpectreProgress(console);
        var ex = Assert.Throws<InvalidOperationException>(() => Model().Fit(Data(), Options(progress)));
        Assert.Contains("inside its Run method", ex.Message, StringComparison.Ordinal);
    }

    private static TestConsole Terminal() => new TestConsole().SupportsAnsi(true).Interactive().Width(Width).EmitAnsiSequences();

    private static Sequential Model()
    {
        var model = new Sequential(8, seed: 3).Add(new Dense(16)).Add(new Relu()).Add(new Dense(3));
        model.Compile(new SoftmaxCrossEntropy(), new Adam());
        return model;
    }

    /// <summary>40 samples, 32 of them trained on in batches of 10: 4 steps an epoch.</summary>
    private static Dataset Data()
    {
        var random = new Random(5);
        float[] x = [.. Enumerable.Range(0, 40 * 8).Select(_ => (float)random.NextDouble())];
        int[] y = [.. Enumerable.Range(0, 40).Select(i => i % 3)];
        return new Dataset(x, y, 8);
    }

    private static FitOptions Options(params Callback[] callbacks) =>
        new() { Epochs = 2, BatchSize = 10, ValidationSplit = 0.2, Seed = 1, Callbacks = callbacks };

    /// <summary>The text without its escape sequences.</summary>
    private static string Visible(string output) => Regex.Replace(output, @"\x1b\[[0-9;?]*[A-Za-z]", string.Empty);

    /// <summary>Each piece drawn between line feeds and carriage returns, without trailing blanks.</summary>
    private static IEnumerable<string> Frames(string output) =>
        Visible(output).Split(['\n', '\r']).Select(f => f.TrimEnd()).Where(f => f.Length > 0);

    private sealed class OnStep(Action<int, int> action) : Callback
    {
        public override void OnBatchEnd(int epoch, int batch, TrainStepResult result, TrainingContext context) => action(epoch, batch);
    }
}
