using System.CommandLine;
using MnistMlp;

// Ctrl+C cancels training after the current step; the trainer then saves a checkpoint and exits 130.
using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    if (!cancellation.IsCancellationRequested)
    {
        e.Cancel = true;
        cancellation.Cancel();
    }
};

var trainer = new Trainer(Console.Out, Console.Error, interactive: !Console.IsOutputRedirected);

int Guard(Func<int> run)
{
    try
    {
        return run();
    }
    catch (Exception ex) when (ex is InvalidDataException or FileNotFoundException or DirectoryNotFoundException
        or IOException or UnauthorizedAccessException or NotSupportedException or HttpRequestException or ArgumentException
        or InsufficientMemoryException)
    {
        // Bad data, a missing file or a failed download: one line that names the file and the problem.
        Console.Error.WriteLine($"error: {ex.Message}");
        return 1;
    }
    catch (OperationCanceledException)
    {
        // Cancelled before training started (while loading or downloading data): nothing to save.
        Console.Error.WriteLine("Interrupted.");
        return Trainer.Interrupted;
    }
}

RootCommand root = Cli.Build(
    (settings, token) => Guard(() => trainer.Train(settings, CancellationTokenSource.CreateLinkedTokenSource(token, cancellation.Token).Token)),
    (settings, architectures, token) => Guard(() => trainer.Sweep(settings, architectures, CancellationTokenSource.CreateLinkedTokenSource(token, cancellation.Token).Token)),
    (model, settings, outputDirectory, token) => Guard(() => trainer.Evaluate(model, settings, outputDirectory, CancellationTokenSource.CreateLinkedTokenSource(token, cancellation.Token).Token)));
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }).ConfigureAwait(false);
