using System.Net;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using NeuralCore.Data;

namespace NeuralCore.Tests.Data;

public class MnistLocatorTests
{
    /// <summary>Writes small valid MNIST files (gzip) into <paramref name="folder"/> and returns their SHA-256 sums.</summary>
    private static Dictionary<string, string> WriteFakeMnist(string folder, int count = 3)
    {
        Directory.CreateDirectory(folder);
        var sums = new Dictionary<string, string>();
        foreach ((string name, byte[] raw) in FakeMnist.Files(count, count))
        {
            byte[] gz = Idx.Gzip(raw);
            File.WriteAllBytes(Path.Combine(folder, name), gz);
            sums[name] = Convert.ToHexStringLower(SHA256.HashData(gz));
        }

        return sums;
    }

    /// <summary>A client whose every request fails the test: proves that nothing was downloaded.</summary>
    private static HttpClient NoNetwork() =>
        new(new FakeHandler(request => throw new InvalidOperationException($"Unexpected request: {request.RequestUri}")));

    [Fact]
    public async Task An_explicit_folder_wins_and_must_hold_the_files()
    {
        using var dir = new TempDirectory();
        WriteFakeMnist(dir.Path);

        MnistLocation location = await MnistLocator.ResolveAsync(dir.Path, searchFrom: [AppContext.BaseDirectory]);
        Assert.Equal(new MnistLocation(dir.Path, MnistSource.Explicit), location);

        File.Delete(Path.Combine(dir.Path, Mnist.TestLabelsFile));
        var missing = await Assert.ThrowsAsync<FileNotFoundException>(() => MnistLocator.ResolveAsync(dir.Path));
        Assert.Contains("'t10k-labels-idx1-ubyte.gz'", missing.Message, StringComparison.Ordinal);

        string nowhere = Path.Combine(dir.Path, "nowhere");
        var folder = await Assert.ThrowsAsync<DirectoryNotFoundException>(() => MnistLocator.ResolveAsync(nowhere));
        Assert.Contains(nowhere, folder.Message, StringComparison.Ordinal);

        // A regular file in place of the folder was reported as missing, although it is there.
        string file = Path.Combine(dir.Path, Mnist.TestLabelsFile + ".txt");
        File.WriteAllText(file, "not a folder");
        var notFolder = await Assert.ThrowsAsync<DirectoryNotFoundException>(() => MnistLocator.ResolveAsync(file));
        Assert.Contains($"'{file}' is a file", notFolder.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("does not exist", notFolder.Message, StringComparison.Ordinal);
        var loading = Assert.Throws<DirectoryNotFoundException>(() => Mnist.Load(file, MnistSplit.Test, CancellationToken.None));
        Assert.Contains($"'{file}' is a file", loading.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    [UnsupportedOSPlatform("windows")]
    public void A_folder_out_of_reach_is_reported_as_such_not_as_missing()
    {
        // Directory.Exists and Path.Exists are false for what this user may not reach, and the folder and its files
        // were reported as missing although they are there.
        Skip.If(OperatingSystem.IsWindows(), "a folder made unreadable with Unix file modes");

        using var dir = new TempDirectory();
        string locked = Path.Combine(dir.Path, "locked");
        string below = Path.Combine(locked, "mnist");
        WriteFakeMnist(below);
        string unsearchable = Path.Combine(dir.Path, "unsearchable");
        WriteFakeMnist(unsearchable);
        string unreadable = Path.Combine(dir.Path, "unreadable");
        WriteFakeMnist(unreadable);
        string unreadableFile = Path.Combine(unreadable, Mnist.TestImagesFile);
        IO.FileAccessOverride.WithModes(
            () =>
            {
                var above = Assert.Throws<UnauthorizedAccessException>(() => MnistLocator.ResolveAsync(below).GetAwaiter().GetResult());
                Assert.Equal($"The MNIST folder '{below}' cannot be reached: a folder above it does not let this user look inside (permission denied).", above.Message);
                var loading = Assert.Throws<UnauthorizedAccessException>(() => Mnist.Load(below, MnistSplit.Test));
                Assert.Equal(above.Message, loading.Message);

                var inside = Assert.Throws<UnauthorizedAccessException>(() => MnistLocator.ResolveAsync(unsearchable).GetAwaiter().GetResult());
                Assert.Equal($"The MNIST folder '{unsearchable}' does not let this user look inside for '{Mnist.TrainImagesFile}' (permission denied).", inside.Message);

                var file = Assert.Throws<UnauthorizedAccessException>(() => Mnist.Load(unreadable, MnistSplit.Test));
                Assert.Contains(unreadableFile, file.Message, StringComparison.Ordinal);
            },
            (locked, UnixFileMode.None),
            (unsearchable, UnixFileMode.UserRead),
            (unreadableFile, UnixFileMode.None));
    }

    [Fact]
    public void The_repository_copy_is_found_by_walking_up_past_partial_folders()
    {
        using var root = new TempDirectory();
        string full = Path.Combine(root.Path, "data", "mnist");
        WriteFakeMnist(full);
        string nested = Path.Combine(root.Path, "src", "app", "bin");
        Directory.CreateDirectory(nested);
        string partial = Path.Combine(root.Path, "src", "data", "mnist");
        Directory.CreateDirectory(partial);
        File.WriteAllBytes(Path.Combine(partial, Mnist.TrainImagesFile), [0]); // not all four: passed over

        Assert.Equal(full, MnistLocator.FindRepositoryCopy([nested]));
        Assert.Equal(full, MnistLocator.FindRepositoryCopy([Path.Combine(root.Path, "does-not-exist"), nested]));
        Assert.Equal(full, MnistLocator.FindRepositoryCopy([partial]));

        using var elsewhere = new TempDirectory();
        string alone = Path.Combine(elsewhere.Path, "data", "mnist");
        Directory.CreateDirectory(alone);
        File.WriteAllBytes(Path.Combine(alone, Mnist.TrainImagesFile), [0]);
        Assert.Null(MnistLocator.FindRepositoryCopy([alone, elsewhere.Path, ""]));
    }

    [Fact]
    public async Task The_real_repository_copy_is_found_from_the_test_folder()
    {
        string? expected = RepositoryMnist.Find(AppContext.BaseDirectory);
        Assert.NotNull(expected);
        Assert.Equal(expected, MnistLocator.FindRepositoryCopy(MnistLocator.DefaultSearchStarts));

        using HttpClient http = NoNetwork();
        using var cache = new TempDirectory();
        MnistLocation location = await MnistLocator.ResolveAsync(downloader: new MnistDownloader(http, cache.Path));
        Assert.Equal(new MnistLocation(expected, MnistSource.Repository), location);
    }

    [Fact]
    public async Task A_verified_cache_comes_before_any_download()
    {
        using var nowhere = new TempDirectory();
        using var cache = new TempDirectory();
        Dictionary<string, string> sums = WriteFakeMnist(cache.Path);
        using HttpClient http = NoNetwork();
        var downloader = new MnistDownloader(http, cache.Path, null, sums);

        MnistLocation location = await MnistLocator.ResolveAsync(downloader: downloader, searchFrom: [nowhere.Path]);

        Assert.Equal(new MnistLocation(cache.Path, MnistSource.Cache), location);
    }

    [Fact]
    public async Task Downloads_only_when_nothing_else_holds_the_files()
    {
        using var nowhere = new TempDirectory();
        using var source = new TempDirectory();
        Dictionary<string, string> sums = WriteFakeMnist(source.Path, count: 4);
        using var cache = new TempDirectory();
        var requests = new List<string>();
        using var http = new HttpClient(new FakeHandler(request =>
        {
            string name = Path.GetFileName(request.RequestUri!.AbsolutePath);
            requests.Add(name);
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(File.ReadAllBytes(Path.Combine(source.Path, name))) };
        }));
        var downloader = new MnistDownloader(http, cache.Path, [new Uri("https://mirror.test/mnist/")], sums);

        var offline = await Assert.ThrowsAsync<FileNotFoundException>(
            () => MnistLocator.ResolveAsync(downloader: downloader, searchFrom: [nowhere.Path], allowDownload: false));
        Assert.Contains("downloading is off", offline.Message, StringComparison.Ordinal);
        Assert.Empty(requests);

        MnistLocation location = await MnistLocator.ResolveAsync(downloader: downloader, searchFrom: [nowhere.Path]);
        Assert.Equal(new MnistLocation(cache.Path, MnistSource.Download), location);
        Assert.Equal(Mnist.FileNames.Order(StringComparer.Ordinal), requests.Order(StringComparer.Ordinal));

        // Next time the cache answers.
        location = await MnistLocator.ResolveAsync(downloader: downloader, searchFrom: [nowhere.Path]);
        Assert.Equal(MnistSource.Cache, location.Source);
        Assert.Equal(4, requests.Count);
        Assert.Equal(4, Mnist.Load(location.Directory).Test.Count);
    }

    [Fact]
    public async Task LoadAsync_resolves_then_loads()
    {
        using var dir = new TempDirectory();
        WriteFakeMnist(dir.Path, count: 2);
        MnistDataset mnist = await MnistLocator.LoadAsync(dir.Path);
        Assert.Equal(2, mnist.Train.Count);
        Assert.Equal(2, mnist.Test.Count);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("mn\0ist", "NUL")]
    public async Task An_explicit_folder_that_is_no_path_names_explicitDirectory(string directory, string why)
    {
        // Both were reported as "(Parameter 'path')", from Path.GetFullPath.
        foreach (Func<Task> find in new Func<Task>[]
        {
            () => MnistLocator.ResolveAsync(directory), () => MnistLocator.LoadAsync(directory),
            () => FashionMnist.ResolveAsync(directory), () => FashionMnist.LoadAsync(directory),
        })
        {
            var e = await Assert.ThrowsAsync<ArgumentException>(find);
            Assert.Equal("explicitDirectory", e.ParamName);
            Assert.Contains(why, e.Message, StringComparison.Ordinal);
        }
    }
}
