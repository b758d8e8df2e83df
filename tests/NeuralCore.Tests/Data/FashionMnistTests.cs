using System.Net;
using System.Security.Cryptography;
using NeuralCore.Data;

namespace NeuralCore.Tests.Data;

public class FashionMnistTests
{
    private static readonly byte[] Content = [.. Enumerable.Range(0, 3000).Select(i => (byte)(i * 11))];

    private static HttpClient Client() => new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(30) };

#pragma warning disable CA5351 // MD5 as the publisher lists it, only to check files.
    private static string Md5(byte[] bytes) => MnistDownloader.Md5Prefix + Convert.ToHexStringLower(MD5.HashData(bytes));
#pragma warning restore CA5351

    [Fact]
    public async Task Md5_sums_verify_downloads_and_cached_files()
    {
        await using var server = new LoopbackHttpServer();
        byte[] wrong = [.. Content];
        wrong[7] ^= 1;
        server.Serve("/bad/file.bin", wrong);
        server.Serve("/good/file.bin", Content);
        using var cache = new TempDirectory();
        using HttpClient http = Client();
        var downloader = new MnistDownloader(http, cache.Path, [server.Mirror("bad"), server.Mirror("good")],
            new Dictionary<string, string> { ["file.bin"] = Md5(Content).ToUpperInvariant().Replace("MD5:", "md5:", StringComparison.Ordinal) });

        string path = await downloader.EnsureFileAsync("file.bin");
        Assert.Equal(Content, await File.ReadAllBytesAsync(path));
        Assert.True(await downloader.IsCachedAsync("file.bin"));
        Assert.Equal(["/bad/file.bin", "/good/file.bin"], server.Requests);

        // Only the bad mirror: the message says which sum failed.
        var only = new MnistDownloader(http, Path.Combine(cache.Path, "other"), [server.Mirror("bad")],
            new Dictionary<string, string> { ["file.bin"] = Md5(Content) });
        var ex = await Assert.ThrowsAsync<IOException>(() => only.EnsureFileAsync("file.bin"));
        Assert.Contains("MD5 mismatch", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_checksums_and_names_are_well_formed_and_bad_sums_are_refused()
    {
        Assert.Equal(Mnist.FileNames.Order(), FashionMnist.Checksums.Keys.Order());
        Assert.All(FashionMnist.Checksums.Values, sum => Assert.Matches("^md5:[0-9a-f]{32}$", sum));
        Assert.Equal(10, FashionMnist.ClassNames.Count);
        using HttpClient http = Client();
        Assert.Equal(FashionMnist.Checksums, FashionMnist.CreateDownloader(http, "/tmp/x").ExpectedSha256);
        Assert.Throws<ArgumentException>(() => new MnistDownloader(http, "/tmp/x", null, new Dictionary<string, string> { ["f"] = "md5:1234" }));
    }

    [Fact]
    public async Task Without_a_copy_or_a_cache_and_with_downloads_off_it_says_where_it_looked()
    {
        using var cache = new TempDirectory();
        using HttpClient http = Client();
        var ex = await Assert.ThrowsAsync<FileNotFoundException>(() => FashionMnist.ResolveAsync(
            downloader: FashionMnist.CreateDownloader(http, cache.Path), searchFrom: [cache.Path], allowDownload: false));
        Assert.Contains("Fashion-MNIST not found", ex.Message, StringComparison.Ordinal);
        Assert.Contains(cache.Path, ex.Message, StringComparison.Ordinal);
    }
}
