using System.Net;
using System.Security.Cryptography;
using NeuralCore.Data;

namespace NeuralCore.Tests.Data;

public class MnistDownloaderTests
{
    private static readonly byte[] Content = [.. Enumerable.Range(0, 5000).Select(i => (byte)(i * 7))];

    private static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static Dictionary<string, string> Expect(string name, byte[] bytes) => new() { [name] = Sha256(bytes) };

    /// <summary>A client that never uses a proxy, so loopback requests stay on the machine.</summary>
    private static HttpClient Client(TimeSpan? timeout = null) =>
        new(new SocketsHttpHandler { UseProxy = false }) { Timeout = timeout ?? TimeSpan.FromSeconds(30) };

    [Fact]
    public async Task Correct_bytes_are_cached_and_verified()
    {
        await using var server = new LoopbackHttpServer();
        server.Serve("/a/file.bin", Content);
        using var cache = new TempDirectory();
        using HttpClient http = Client();
        var downloader = new MnistDownloader(http, cache.Path, [server.Mirror("a")], Expect("file.bin", Content));

        string path = await downloader.EnsureFileAsync("file.bin");

        Assert.Equal(Path.Combine(cache.Path, "file.bin"), path);
        Assert.Equal(Content, await File.ReadAllBytesAsync(path));
        Assert.Equal(["file.bin"], cache.Files());
        Assert.True(await downloader.IsCachedAsync("file.bin"));

        // Cached: verified by hash, not fetched again.
        Assert.Equal(path, await downloader.EnsureFileAsync("file.bin"));
        Assert.Equal(["/a/file.bin"], server.Requests);
    }

    [Fact]
    public async Task A_corrupt_cached_file_is_replaced()
    {
        await using var server = new LoopbackHttpServer();
        server.Serve("/a/file.bin", Content);
        using var cache = new TempDirectory();
        cache.Write("file.bin", [1, 2, 3]);
        using HttpClient http = Client();
        var downloader = new MnistDownloader(http, cache.Path, [server.Mirror("a")], Expect("file.bin", Content));

        Assert.False(await downloader.IsCachedAsync("file.bin"));
        string path = await downloader.EnsureFileAsync("file.bin");

        Assert.Equal(Content, await File.ReadAllBytesAsync(path));
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task Wrong_bytes_are_rejected_and_the_next_mirror_is_tried()
    {
        await using var server = new LoopbackHttpServer();
        byte[] wrong = [.. Content];
        wrong[100] ^= 1;
        server.Serve("/bad/file.bin", wrong);
        server.Serve("/good/file.bin", Content);
        using var cache = new TempDirectory();
        using HttpClient http = Client();
        var downloader = new MnistDownloader(http, cache.Path, [server.Mirror("bad"), server.Mirror("good")], Expect("file.bin", Content));

        string path = await downloader.EnsureFileAsync("file.bin");

        Assert.Equal(Content, await File.ReadAllBytesAsync(path));
        Assert.Equal(["/bad/file.bin", "/good/file.bin"], server.Requests);
        Assert.Equal(["file.bin"], cache.Files()); // no temporary file left behind
    }

    [Fact]
    public async Task A_mirror_that_redirects_off_http_fails_alone_and_the_next_is_tried()
    {
        // A redirect to another scheme (ftp:, file:) or to nowhere must not end the search: it is that mirror's failure.
        await using var server = new LoopbackHttpServer();
        server.ServeRedirect("/ftp/file.bin", "ftp://127.0.0.1/file.bin");
        server.ServeRedirect("/local/file.bin", "file:///etc/passwd");
        server.ServeRedirect("/loop/file.bin", $"http://127.0.0.1:{server.Port}/loop/file.bin");
        server.Serve("/good/file.bin", Content);
        using var cache = new TempDirectory();
        using HttpClient http = Client();
        var downloader = new MnistDownloader(http, cache.Path,
            [server.Mirror("ftp"), server.Mirror("local"), server.Mirror("loop"), server.Mirror("good")], Expect("file.bin", Content));

        string path = await downloader.EnsureFileAsync("file.bin");

        Assert.Equal(Content, await File.ReadAllBytesAsync(path));
        Assert.Equal("/good/file.bin", server.Requests.Last());
        Assert.Equal(["file.bin"], cache.Files());
    }

    [Fact]
    public async Task A_killed_runs_partial_download_is_removed_by_the_next_download()
    {
        // Before: partial files were "file.bin.<guid>.part", with no process id, and nothing ever removed them.
        await using var server = new LoopbackHttpServer();
        server.Serve("/good/file.bin", Content);
        using var cache = new TempDirectory();
        string guid = Guid.NewGuid().ToString("N");
        string stale = Path.Combine(cache.Path, $".file.bin.4194311.{guid}.part"); // above Linux's pid_max: no process has it
        string live = Path.Combine(cache.Path, $".file.bin.{Environment.ProcessId}.{guid}.part"); // a download running now
        File.WriteAllText(stale, "half");
        File.WriteAllText(live, "half");
        using HttpClient http = Client();
        var downloader = new MnistDownloader(http, cache.Path, [server.Mirror("good")], Expect("file.bin", Content));

        await downloader.EnsureFileAsync("file.bin");

        Assert.Equal([Path.GetFileName(live), "file.bin"], cache.Files());
    }

    [Fact]
    public async Task A_killed_runs_partial_download_is_removed_when_every_file_is_already_cached()
    {
        // The cleanup ran only before a download: with a good cached copy nothing is downloaded, and the partial files
        // of killed runs stayed for good.
        await using var server = new LoopbackHttpServer();
        using var cache = new TempDirectory();
        cache.Write("file.bin", Content);
        string guid = Guid.NewGuid().ToString("N");
        string stale = Path.Combine(cache.Path, $".file.bin.4194311.{guid}.part"); // above Linux's pid_max: no process has it
        string otherStale = Path.Combine(cache.Path, $".other.bin.4194311.{guid}.part");
        string live = Path.Combine(cache.Path, $".file.bin.{Environment.ProcessId}.{guid}.part"); // a download running now
        File.WriteAllText(stale, "half");
        File.WriteAllText(otherStale, "half");
        File.WriteAllText(live, "half");
        using HttpClient http = Client();
        var downloader = new MnistDownloader(http, cache.Path, [server.Mirror("good")], Expect("file.bin", Content));

        await downloader.EnsureDownloadedAsync();

        Assert.Empty(server.Requests);
        Assert.Equal([Path.GetFileName(live), "file.bin"], cache.Files());
    }

    [Fact]
    public async Task When_every_mirror_fails_nothing_is_cached_and_each_failure_is_listed()
    {
        await using var server = new LoopbackHttpServer();
        server.Serve("/bad/file.bin", [.. Content, 0]);
        server.ServeTruncated("/cut/file.bin", Content[..1000], Content.Length);
        server.ServeStatus("/gone/file.bin", 404);
        using var cache = new TempDirectory();
        using HttpClient http = Client();
        var downloader = new MnistDownloader(
            http, cache.Path, [server.Mirror("bad"), server.Mirror("cut"), server.Mirror("gone")], Expect("file.bin", Content));

        var e = await Assert.ThrowsAsync<IOException>(() => downloader.EnsureFileAsync("file.bin"));

        Assert.Contains("Could not download file.bin from any of 3 mirror(s)", e.Message, StringComparison.Ordinal);
        Assert.Contains($"{server.Mirror("bad")}file.bin: SHA-256 mismatch: expected {Sha256(Content)}, got {Sha256([.. Content, 0])} (5001 bytes)", e.Message, StringComparison.Ordinal);
        Assert.Contains($"{server.Mirror("cut")}file.bin: ", e.Message, StringComparison.Ordinal);
        Assert.Contains($"{server.Mirror("gone")}file.bin: HTTP 404", e.Message, StringComparison.Ordinal);
        Assert.Empty(cache.Files());
        Assert.False(await downloader.IsCachedAsync("file.bin"));
    }

    [Fact]
    public async Task A_truncated_transfer_is_rejected_and_nothing_is_cached()
    {
        await using var server = new LoopbackHttpServer();
        server.ServeTruncated("/cut/file.bin", Content[..1000], Content.Length);
        using var cache = new TempDirectory();
        using HttpClient http = Client();
        var downloader = new MnistDownloader(http, cache.Path, [server.Mirror("cut")], Expect("file.bin", Content));

        var e = await Assert.ThrowsAsync<IOException>(() => downloader.EnsureFileAsync("file.bin"));

        // HttpClient reports the early end itself ("The response ended prematurely…").
        Assert.Contains("HttpIOException", e.Message, StringComparison.Ordinal);
        Assert.Empty(cache.Files());
    }

    [Fact]
    public async Task A_truncated_transfer_falls_back_to_the_next_mirror()
    {
        await using var server = new LoopbackHttpServer();
        server.ServeTruncated("/cut/file.bin", Content[..1000], Content.Length);
        server.Serve("/good/file.bin", Content);
        using var cache = new TempDirectory();
        using HttpClient http = Client();
        var downloader = new MnistDownloader(http, cache.Path, [server.Mirror("cut"), server.Mirror("good")], Expect("file.bin", Content));

        Assert.Equal(Content, await File.ReadAllBytesAsync(await downloader.EnsureFileAsync("file.bin")));
        Assert.Equal(["file.bin"], cache.Files());
    }

    [Fact]
    public async Task Oversized_files_are_refused()
    {
        await using var server = new LoopbackHttpServer();
        server.Serve("/a/file.bin", Content);
        using var cache = new TempDirectory();
        using HttpClient http = Client();
        var downloader = new MnistDownloader(http, cache.Path, [server.Mirror("a")], Expect("file.bin", Content), maxFileBytes: 4096);

        var e = await Assert.ThrowsAsync<IOException>(() => downloader.EnsureFileAsync("file.bin"));
        Assert.Contains("Content-Length 5000 exceeds the limit of 4096 bytes", e.Message, StringComparison.Ordinal);
        Assert.Empty(cache.Files());
    }

    [Fact]
    public async Task Cancellation_stops_the_download_and_removes_the_partial_file()
    {
        await using var server = new LoopbackHttpServer();
        server.ServeStalling("/slow/file.bin", Content[..1000], Content.Length);
        using var cache = new TempDirectory();
        using HttpClient http = Client();
        var downloader = new MnistDownloader(http, cache.Path, [server.Mirror("slow")], Expect("file.bin", Content));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => downloader.EnsureFileAsync("file.bin", cancel.Token));
        Assert.Empty(cache.Files());
    }

    [Fact]
    public async Task A_timeout_is_a_mirror_failure_not_a_cancellation()
    {
        await using var server = new LoopbackHttpServer();
        server.ServeStalling("/slow/file.bin", Content[..1000], Content.Length);
        server.Serve("/good/file.bin", Content);
        using var cache = new TempDirectory();
        using HttpClient http = Client(TimeSpan.FromMilliseconds(300));
        var downloader = new MnistDownloader(http, cache.Path, [server.Mirror("slow"), server.Mirror("good")], Expect("file.bin", Content));

        Assert.Equal(Content, await File.ReadAllBytesAsync(await downloader.EnsureFileAsync("file.bin")));
    }

    [Fact]
    public async Task An_injected_handler_replaces_the_network()
    {
        using var cache = new TempDirectory();
        using var http = new HttpClient(new FakeHandler(request => request.RequestUri!.Host == "down.example"
            ? throw new HttpRequestException("Name or service not known")
            : new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(Content) }));
        var downloader = new MnistDownloader(
            http, cache.Path, [new Uri("https://down.example/mnist"), new Uri("https://up.example/mnist/")], Expect("file.bin", Content));

        Assert.Equal(Content, await File.ReadAllBytesAsync(await downloader.EnsureFileAsync("file.bin")));
        Assert.Equal(new Uri("https://down.example/mnist/"), downloader.Mirrors[0]); // trailing slash added
    }

    [Fact]
    public async Task Downloads_a_whole_fake_mnist_that_then_loads()
    {
        using var source = new TempDirectory();
        var hashes = new Dictionary<string, string>();
        await using var server = new LoopbackHttpServer();
        foreach ((string name, byte[] raw) in FakeMnist.Files(train: 6, test: 4))
        {
            byte[] gz = Idx.Gzip(raw);
            server.Serve("/m/" + name, gz);
            hashes[name] = Sha256(gz);
        }

        using var cache = new TempDirectory();
        using HttpClient http = Client();
        var downloader = new MnistDownloader(http, cache.Path, [server.Mirror("m")], hashes);

        Assert.False(await downloader.IsFullyCachedAsync());
        Assert.Equal(cache.Path, await downloader.EnsureDownloadedAsync());
        Assert.True(await downloader.IsFullyCachedAsync());
        Assert.Equal(Mnist.FileNames.Order(StringComparer.Ordinal), cache.Files());

        MnistDataset mnist = Mnist.Load(cache.Path);
        Assert.Equal(6, mnist.Train.Count);
        Assert.Equal(4, mnist.Test.Count);
    }

    [Fact]
    public void Defaults_are_the_real_mnist_sums_and_mirrors()
    {
        // The hard-coded sums are the ones in data/mnist/SHA256SUMS, and the repository copy matches them.
        string repository = RepositoryMnist.Find(AppContext.BaseDirectory)!;
        var sums = File.ReadAllLines(Path.Combine(repository, "SHA256SUMS"))
            .Select(line => line.Split("  "))
            .ToDictionary(parts => parts[1], parts => parts[0]);
        Assert.Equal(sums.OrderBy(p => p.Key, StringComparer.Ordinal), MnistDownloader.DefaultSha256.OrderBy(p => p.Key, StringComparer.Ordinal));
        foreach ((string name, string sum) in MnistDownloader.DefaultSha256)
        {
            Assert.Equal(sum, Sha256(File.ReadAllBytes(Path.Combine(repository, name))));
        }

        Assert.Equal(
            ["https://storage.googleapis.com/cvdf-datasets/mnist/", "https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"],
            MnistDownloader.DefaultMirrors.Select(u => u.AbsoluteUri));

        using var http = new HttpClient(new FakeHandler(_ => throw new InvalidOperationException("no network in tests")));
        using var cache = new TempDirectory();
        var downloader = new MnistDownloader(http, cache.Path);
        Assert.Equal(MnistDownloader.DefaultSha256, downloader.ExpectedSha256);
        Assert.Equal(MnistDownloader.DefaultMirrors, downloader.Mirrors);
        Assert.Equal(MnistDownloader.DefaultMaxFileBytes, downloader.MaxFileBytes);
    }

    [Fact]
    public void Constructor_validates_with_the_values()
    {
        using var http = new HttpClient(new FakeHandler(_ => throw new InvalidOperationException()));
        var hashes = Expect("f", Content);
        Assert.Throws<ArgumentNullException>(() => new MnistDownloader(null!, "c"));
        Assert.Contains("an empty list", Assert.Throws<ArgumentException>(() => new MnistDownloader(http, "c", [], hashes)).Message, StringComparison.Ordinal);
        Assert.Contains("mirror=ftp://x/", Assert.Throws<ArgumentException>(() => new MnistDownloader(http, "c", [new Uri("ftp://x/")], hashes)).Message, StringComparison.Ordinal);
        Assert.Contains("mirror=mnist/", Assert.Throws<ArgumentException>(() => new MnistDownloader(http, "c", [new Uri("mnist/", UriKind.Relative)], hashes)).Message, StringComparison.Ordinal);
        Assert.Contains("fileName=../f", Assert.Throws<ArgumentException>(() => new MnistDownloader(http, "c", null, new Dictionary<string, string> { ["../f"] = Sha256(Content) })).Message, StringComparison.Ordinal);
        Assert.Contains("sha256=abc", Assert.Throws<ArgumentException>(() => new MnistDownloader(http, "c", null, new Dictionary<string, string> { ["f"] = "abc" })).Message, StringComparison.Ordinal);
        Assert.Contains("an empty dictionary", Assert.Throws<ArgumentException>(() => new MnistDownloader(http, "c", null, new Dictionary<string, string>())).Message, StringComparison.Ordinal);
        Assert.Contains("maxFileBytes=0", Assert.Throws<ArgumentOutOfRangeException>(() => new MnistDownloader(http, "c", null, hashes, 0)).Message, StringComparison.Ordinal);

        // Upper-case hex is accepted and normalized.
        var upper = new MnistDownloader(http, "c", null, new Dictionary<string, string> { ["f"] = Sha256(Content).ToUpperInvariant() });
        Assert.Equal(Sha256(Content), upper.ExpectedSha256["f"]);
    }

    [Fact]
    public void Constructor_errors_name_the_callers_parameter()
    {
        // Bad sums blamed "hashes", a private helper's parameter; an empty or NUL folder blamed "path".
        using var http = new HttpClient(new FakeHandler(_ => throw new InvalidOperationException()));
        var hashes = Expect("f", Content);
        Assert.Equal("expectedSha256", Assert.Throws<ArgumentException>(() => new MnistDownloader(http, "c", null, new Dictionary<string, string> { ["f"] = "abc" })).ParamName);
        Assert.Equal("expectedSha256", Assert.Throws<ArgumentException>(() => new MnistDownloader(http, "c", null, new Dictionary<string, string> { ["../f"] = Sha256(Content) })).ParamName);
        Assert.Equal("expectedSha256", Assert.Throws<ArgumentException>(() => new MnistDownloader(http, "c", null, new Dictionary<string, string>())).ParamName);
        foreach ((string folder, string why) in new[] { ("", "empty"), ("ca\0che", "NUL") })
        {
            var e = Assert.Throws<ArgumentException>(() => new MnistDownloader(http, folder, null, hashes));
            Assert.Equal("cacheDirectory", e.ParamName);
            Assert.Contains(why, e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Unknown_file_names_are_rejected()
    {
        using var http = new HttpClient(new FakeHandler(_ => throw new InvalidOperationException()));
        using var cache = new TempDirectory();
        var downloader = new MnistDownloader(http, cache.Path, null, Expect("f", Content));
        var e = await Assert.ThrowsAsync<ArgumentException>(() => downloader.EnsureFileAsync("g"));
        Assert.Contains("fileName=g", e.Message, StringComparison.Ordinal);
    }
}

[Collection(SerialTests.Name)] // changes an environment variable
public class MnistDownloaderCacheFolderTests
{
    [Fact]
    public void Default_cache_folder_follows_XDG_CACHE_HOME_then_home()
    {
        string? saved = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        try
        {
            string xdg = Path.Combine(Path.GetTempPath(), "xdg-cache");
            Environment.SetEnvironmentVariable("XDG_CACHE_HOME", xdg);
            Assert.Equal(Path.Combine(xdg, "neuralcore", "mnist"), MnistDownloader.DefaultCacheDirectory);

            Environment.SetEnvironmentVariable("XDG_CACHE_HOME", "relative/ignored");
            string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            Assert.Equal(Path.Combine(home, ".cache", "neuralcore", "mnist"), MnistDownloader.DefaultCacheDirectory);

            Environment.SetEnvironmentVariable("XDG_CACHE_HOME", null);
            Assert.Equal(Path.Combine(home, ".cache", "neuralcore", "mnist"), MnistDownloader.DefaultCacheDirectory);
        }
        finally
        {
            Environment.SetEnvironmentVariable("XDG_CACHE_HOME", saved);
        }
    }
}

/// <summary>An <see cref="HttpMessageHandler"/> that answers from a function, without any network.</summary>
internal sealed class FakeHandler(Func<HttpRequestMessage, HttpResponseMessage> respond) : HttpMessageHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        Task.FromResult(respond(request));
}

/// <summary>Small valid MNIST files (raw IDX bytes) under the four standard names.</summary>
internal static class FakeMnist
{
    public static IEnumerable<(string Name, byte[] Raw)> Files(int train, int test)
    {
        yield return (Mnist.TrainImagesFile, Idx.Build([(uint)train, 28, 28], Idx.Ramp(train * 784)));
        yield return (Mnist.TrainLabelsFile, Idx.Build([(uint)train], [.. Enumerable.Range(0, train).Select(i => (byte)(i % 10))]));
        yield return (Mnist.TestImagesFile, Idx.Build([(uint)test, 28, 28], Idx.Ramp(test * 784)));
        yield return (Mnist.TestLabelsFile, Idx.Build([(uint)test], [.. Enumerable.Range(0, test).Select(i => (byte)(i % 10))]));
    }
}
