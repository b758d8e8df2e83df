using System.Runtime.Versioning;
using NeuralCore.Data;
using NeuralCore.IO;
using NeuralCore.Layers;
using NeuralCore.Models;
using NeuralCore.Serialization;
using NeuralCore.Tests.Data;

namespace NeuralCore.Tests.IO;

/// <summary>
/// Paths that name something other than a regular file are refused before they are opened: a named pipe would block
/// the open for ever, a device would be read until memory runs out. Every check runs under a deadline, so a
/// regression fails the test instead of hanging the suite.
/// </summary>
public sealed class InputFileTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("neuralcore-inputfile-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Kinds_are_told_apart()
    {
        string file = Path.Combine(_folder, "file");
        File.WriteAllText(file, "x");
        Assert.Equal(FileKind.Regular, InputFile.KindOf(file));
        Assert.Equal(FileKind.Directory, InputFile.KindOf(_folder));
        Assert.Equal(FileKind.Missing, InputFile.KindOf(Path.Combine(_folder, "none")));
        if (OperatingSystem.IsLinux())
        {
            Assert.Equal(FileKind.Fifo, InputFile.KindOf(MakeFifo("pipe")));
            Assert.Equal(FileKind.Device, InputFile.KindOf("/dev/zero"));
        }
    }

    [Fact]
    public void A_missing_file_and_a_directory_get_their_own_messages()
    {
        string missing = Path.Combine(_folder, "none.ncm");
        Assert.Equal($"{missing}: no such model file.", Assert.Throws<FileNotFoundException>(() => ModelFile.Load(missing)).Message);
        Assert.Equal($"{_folder} is a directory: a model file must be a regular file.",
            Assert.Throws<IOException>(() => ModelFile.Load(_folder)).Message);
    }

    [SkippableFact]
    [UnsupportedOSPlatform("windows")]
    public void A_file_under_a_folder_that_cannot_be_searched_is_reported_as_permission_denied_not_missing()
    {
        // File.Exists is false there as for a missing file: a model or IDX file in a mode-000 folder was reported as
        // "no such file", outside the MNIST folder (which already told them apart).
        Skip.If(OperatingSystem.IsWindows(), "a folder made unsearchable with Unix file modes");

        string locked = Path.Combine(_folder, "locked");
        Directory.CreateDirectory(locked);
        string model = Path.Combine(locked, "m.ncm"), idx = Path.Combine(locked, "labels-idx1-ubyte");
        ModelFile.Save(new Sequential(2, seed: 1).Add(new Dense(1)), model);
        File.WriteAllBytes(idx, Idx.Build([2], [3, 4]));

        // Root looks through any folder: the check runs on a thread without that override (CI runs as root).
        FileAccessOverride.WithModes(
            () =>
            {
                foreach ((string reader, string path, Action read) in new (string, string, Action)[]
                {
                    ("ModelFile.Load", model, () => ModelFile.Load(model)),
                    ("IdxReader.Read", idx, () => IdxReader.Read(idx)),
                })
                {
                    Assert.False(File.Exists(path), $"{reader}: the folder's mode did not hide the file");
                    var e = Assert.Throws<UnauthorizedAccessException>(read);
                    Assert.Equal($"{path} cannot be reached: a folder on its path does not let this user look inside (permission denied).", e.Message);
                }

                // A file that is not there, under a folder that can be searched, is still missing.
                Assert.Throws<FileNotFoundException>(() => ModelFile.Load(Path.Combine(_folder, "none.ncm")));
            },
            (locked, UnixFileMode.None));
    }

    [SkippableFact]
    [SupportedOSPlatform("linux")]
    public void Every_reader_refuses_a_named_pipe_without_blocking()
    {
        Skip.If(!OperatingSystem.IsLinux(), "named pipes made with mkfifo and Linux devices");

        string pipe = MakeFifo("pipe");
        foreach ((string reader, Action read) in new (string, Action)[]
        {
            ("ModelFile.Load", () => ModelFile.Load(pipe)),
            ("IdxReader.Read", () => IdxReader.Read(pipe)),
            ("IdxReader.ReadDimensions", () => IdxReader.ReadDimensions(pipe)),
            ("NumericTable.Read", () => NumericTable.Read(pipe, 0)),
        })
        {
            IOException e = WithinDeadline(reader, read);
            Assert.Contains("named pipe", e.Message, StringComparison.Ordinal);
            Assert.Contains(pipe, e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_directory_in_place_of_an_mnist_file_is_refused_as_a_directory_not_reported_missing()
    {
        // Before: the locator looked with File.Exists, false for a directory, and said "MNIST file missing".
        foreach (string name in Mnist.FileNames)
        {
            Directory.CreateDirectory(Path.Combine(_folder, name));
        }

        Assert.True(Mnist.HasAllFiles(_folder));
        IOException e = WithinDeadline("Mnist.Load", () => Mnist.Load(_folder));
        Assert.Matches($"^{System.Text.RegularExpressions.Regex.Escape(_folder)}/[a-z0-9-]+-idx[13]-ubyte\\.gz is a directory: an IDX file must be a regular file\\.$", e.Message);
    }

    [SkippableFact]
    [SupportedOSPlatform("linux")]
    public void An_mnist_folder_whose_files_are_pipes_is_refused_naming_the_file()
    {
        Skip.If(!OperatingSystem.IsLinux(), "named pipes made with mkfifo and Linux devices");

        foreach (string name in Mnist.FileNames)
        {
            MakeFifo(name);
        }

        IOException e = WithinDeadline("Mnist.Load", () => Mnist.Load(_folder));
        Assert.Contains("is a named pipe (FIFO), which would block reading until something writes to it: an IDX file must be a regular file.", e.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    [SupportedOSPlatform("linux")]
    public void An_endless_device_is_refused_as_a_model_file()
    {
        Skip.If(!OperatingSystem.IsLinux(), "named pipes made with mkfifo and Linux devices");

        IOException e = WithinDeadline("ModelFile.Load", () => ModelFile.Load("/dev/zero"));
        Assert.Equal("/dev/zero is a device, not a file with an end: a model file must be a regular file.", e.Message);
    }

    [Fact]
    public void Loading_stops_when_cancelled()
    {
        string images = Path.Combine(_folder, Mnist.TrainImagesFile);
        string labels = Path.Combine(_folder, Mnist.TrainLabelsFile);
        File.WriteAllBytes(images, Idx.Gzip(Idx.Build([2, 28, 28], new byte[2 * 784])));
        File.WriteAllBytes(labels, Idx.Gzip(Idx.Build([2], [3, 4])));
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.Throws<OperationCanceledException>(() => IdxReader.Read(images, IdxReader.MaxElements, cancelled.Token));
        Assert.ThrowsAny<OperationCanceledException>(() => Mnist.Load(_folder, MnistSplit.Train, cancelled.Token));
        Assert.Equal(2, Mnist.Load(_folder, MnistSplit.Train, CancellationToken.None).Count);
    }

    [Fact]
    public void A_cancellable_stream_stops_at_the_next_read_and_reads_in_bounded_chunks()
    {
        using var cancellation = new CancellationTokenSource();
        using var stream = new CancellableStream(new MemoryStream(new byte[3 * CancellableStream.MaxChunk]), cancellation.Token);
        byte[] buffer = new byte[3 * CancellableStream.MaxChunk];
        Assert.Equal(CancellableStream.MaxChunk, stream.Read(buffer));
        cancellation.Cancel();
        Assert.Throws<OperationCanceledException>(() => stream.Read(buffer));
    }

    private string MakeFifo(string name) => NamedPipe.Make(Path.Combine(_folder, name));

    // A reader that opened the pipe would block in open(2) for ever: give it 10 s on another thread.
    private static IOException WithinDeadline(string reader, Action read)
    {
        Task<Exception?> attempt = Task.Run(() =>
        {
            try
            {
                read();
                return null;
            }
            catch (Exception e)
            {
                return e;
            }
        });
        Assert.True(attempt.Wait(TimeSpan.FromSeconds(10)), $"{reader} blocked instead of refusing the path");
        Exception? thrown = attempt.Result;
        Assert.True(thrown is IOException and not FileNotFoundException, $"{reader}: expected an IOException, got {thrown?.GetType().Name ?? "no exception"}: {thrown?.Message}");
        return (IOException)thrown!;
    }
}
