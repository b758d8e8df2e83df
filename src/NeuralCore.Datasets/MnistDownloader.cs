using System.Buffers;
using System.Collections.ObjectModel;
using System.Security.Cryptography;
using System.Text;
using NeuralCore.IO;

namespace NeuralCore.Data;

/// <summary>
/// Downloads the MNIST files into a cache folder, verifying each against its known SHA-256 and trying mirrors in turn.
/// </summary>
/// <remarks>
/// <para>
/// Each file is written through <see cref="AtomicFile"/> to a hidden temporary file beside its final name while its
/// SHA-256 is computed; only when the length and hash match is it flushed and renamed (atomically, replacing any old
/// copy) to its final name. Temporary files that killed runs left in the cache folder are removed by the next call
/// of <see cref="EnsureFileAsync"/> or <see cref="EnsureDownloadedAsync"/>, even when every file is already cached.
/// A failed, truncated or corrupt download is deleted and the next mirror is tried, so nothing unverified is ever left
/// under a final name. A file already in the cache is used only if its hash still matches;
/// otherwise it is deleted and downloaded again.
/// </para>
/// <para>
/// The <see cref="HttpClient"/> is the caller's (inject one with a custom handler to test) and is not disposed here.
/// Its <see cref="HttpClient.Timeout"/> bounds the wait for the response headers and also each wait for the next
/// chunk of the body (HttpClient alone does not time out a body that stalls), so a stalled mirror fails and the
/// next is tried; a slow but steady transfer is not cut off.
/// </para>
/// </remarks>
public sealed class MnistDownloader
{
    /// <summary>The default largest download accepted, 64 MiB (the largest MNIST file is 9.9 MB).</summary>
    public const long DefaultMaxFileBytes = 64L << 20;

    private const int CopyBufferSize = 81920;

    /// <summary>Marks an expected hash as an MD5 sum (<c>md5:</c> and 32 hex digits) rather than a SHA-256.</summary>
    public const string Md5Prefix = "md5:";

    private static readonly SearchValues<char> s_hexDigits = SearchValues.Create("0123456789abcdefABCDEF");

    private readonly HttpClient _httpClient;

    /// <summary>Creates a downloader.</summary>
    /// <param name="httpClient">The client that fetches the files; not disposed by the downloader.</param>
    /// <param name="cacheDirectory">The cache folder (created when needed); null for <see cref="DefaultCacheDirectory"/>.</param>
    /// <param name="mirrors">
    /// Absolute http(s) base URLs tried in order, each file fetched as <c>mirror + fileName</c>; null for
    /// <see cref="DefaultMirrors"/>. A missing trailing slash is added.
    /// </param>
    /// <param name="expectedSha256">
    /// The files to fetch, as plain file name → SHA-256 in hex (or <see cref="Md5Prefix"/> and an MD5 in hex, for data
    /// sets published with MD5 sums only); null for <see cref="DefaultSha256"/> (the four MNIST files).
    /// </param>
    /// <param name="maxFileBytes">The largest file accepted, in bytes; positive. Guards the disk against a bad mirror.</param>
    /// <exception cref="ArgumentNullException"><paramref name="httpClient"/> is null.</exception>
    /// <exception cref="ArgumentException">
    /// <paramref name="cacheDirectory"/> is empty or holds a NUL character; no mirrors, a mirror that is not an absolute
    /// http(s) URL; or, in <paramref name="expectedSha256"/>, no files, a file name with a folder in it, or a hash that is
    /// not 64 hex digits.
    /// </exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxFileBytes"/> is not positive.</exception>
    public MnistDownloader(
        HttpClient httpClient,
        string? cacheDirectory = null,
        IEnumerable<Uri>? mirrors = null,
        IReadOnlyDictionary<string, string>? expectedSha256 = null,
        long maxFileBytes = DefaultMaxFileBytes)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        Check.Positive(maxFileBytes, nameof(maxFileBytes), "size limit");

        _httpClient = httpClient;
        CacheDirectory = cacheDirectory is null ? Path.GetFullPath(DefaultCacheDirectory) : PathArgument.FullPath(cacheDirectory, nameof(cacheDirectory));
        Mirrors = NormalizeMirrors(mirrors ?? DefaultMirrors);
        ExpectedSha256 = NormalizeHashes(expectedSha256 ?? DefaultSha256, nameof(expectedSha256));
        MaxFileBytes = maxFileBytes;
    }

    /// <summary>
    /// The default mirrors, in order: Google's CVDF copy, the PyTorch (OSSCI) S3 copy, and the classic
    /// yann.lecun.com page (often unavailable; plain http, which the SHA-256 check makes safe).
    /// </summary>
    public static IReadOnlyList<Uri> DefaultMirrors { get; } =
    [
        new("https://storage.googleapis.com/cvdf-datasets/mnist/"),
        new("https://ossci-datasets.s3.amazonaws.com/mnist/"),
        new("http://yann.lecun.com/exdb/mnist/"),
    ];

    /// <summary>The SHA-256 of each of the four original MNIST files (as in <c>data/mnist/SHA256SUMS</c>).</summary>
    public static IReadOnlyDictionary<string, string> DefaultSha256 { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [Mnist.TrainImagesFile] = "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        [Mnist.TrainLabelsFile] = "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        [Mnist.TestImagesFile] = "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        [Mnist.TestLabelsFile] = "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    }.AsReadOnly();

    /// <summary>
    /// The default cache folder: <c>$XDG_CACHE_HOME/neuralcore/mnist</c> when <c>XDG_CACHE_HOME</c> is an absolute
    /// path, else <c>~/.cache/neuralcore/mnist</c>. Read from the environment at each call.
    /// </summary>
    public static string DefaultCacheDirectory
    {
        get
        {
            string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            string root = !string.IsNullOrEmpty(xdg) && Path.IsPathFullyQualified(xdg)
                ? xdg
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
            return Path.Combine(root, "neuralcore", "mnist");
        }
    }

    /// <summary>The cache folder, as a full path.</summary>
    public string CacheDirectory { get; }

    /// <summary>The mirrors' base URLs, in the order they are tried; each ends with a slash.</summary>
    public IReadOnlyList<Uri> Mirrors { get; }

    /// <summary>The files to fetch and their SHA-256 (lower-case hex), or <c>md5:</c> and their MD5.</summary>
    public IReadOnlyDictionary<string, string> ExpectedSha256 { get; }

    /// <summary>The largest file accepted, in bytes.</summary>
    public long MaxFileBytes { get; }

    /// <summary>
    /// Makes sure every file of <see cref="ExpectedSha256"/> is in the cache with the right hash, downloading the
    /// missing or corrupt ones.
    /// </summary>
    /// <param name="cancellationToken">Cancels the downloads; a partial file is deleted.</param>
    /// <returns><see cref="CacheDirectory"/>.</returns>
    /// <exception cref="IOException">A file could not be fetched from any mirror; the message lists each mirror's failure.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="UnauthorizedAccessException">The cache folder cannot be written.</exception>
    public async Task<string> EnsureDownloadedAsync(CancellationToken cancellationToken = default)
    {
        foreach (string fileName in ExpectedSha256.Keys)
        {
            await EnsureFileAsync(fileName, cancellationToken).ConfigureAwait(false);
        }

        return CacheDirectory;
    }

    /// <summary>
    /// Returns the cached path of <paramref name="fileName"/>, after checking its hash; downloads it first if it is
    /// missing or its hash is wrong.
    /// </summary>
    /// <param name="fileName">A key of <see cref="ExpectedSha256"/>.</param>
    /// <param name="cancellationToken">Cancels the download; a partial file is deleted.</param>
    /// <returns>The full path of the verified file.</returns>
    /// <exception cref="ArgumentException"><paramref name="fileName"/> is not one of <see cref="ExpectedSha256"/>.</exception>
    /// <exception cref="IOException">The file could not be fetched from any mirror; the message lists each mirror's failure.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="UnauthorizedAccessException">The cache folder cannot be written.</exception>
    public async Task<string> EnsureFileAsync(string fileName, CancellationToken cancellationToken = default)
    {
        string expected = ExpectedHash(fileName);
        string finalPath = Path.Combine(CacheDirectory, fileName);
        // Before the early return of a good cached copy: the partial downloads of killed runs were removed only by a
        // download of the same file, which a complete cache never makes, so they stayed for good.
        AtomicFile.RemoveStale(CacheDirectory);
        if (File.Exists(finalPath))
        {
            if (string.Equals(await HashFileAsync(finalPath, expected, cancellationToken).ConfigureAwait(false), expected, StringComparison.Ordinal))
            {
                return finalPath;
            }

            File.Delete(finalPath); // a corrupt copy is never used, nor left behind if every mirror fails
        }

        Directory.CreateDirectory(CacheDirectory);
        var failures = new List<string>(Mirrors.Count);
        var errors = new List<Exception>();
        foreach (Uri mirror in Mirrors)
        {
            var uri = new Uri(mirror, fileName);
            string? problem = await TryDownloadAsync(uri, finalPath, expected, errors, cancellationToken).ConfigureAwait(false);
            if (problem is null)
            {
                return finalPath;
            }

            failures.Add($"  {uri}: {problem}");
        }

        var message = new StringBuilder();
        message.Append("Could not download ").Append(fileName).Append(" from any of ").Append(Mirrors.Count)
            .Append(" mirror(s); nothing was cached under ").Append(finalPath).AppendLine(":");
        message.AppendJoin(Environment.NewLine, failures);
        throw new IOException(message.ToString(), errors.Count == 0 ? null : new AggregateException(errors));
    }

    /// <summary>Whether <paramref name="fileName"/> is in the cache with the expected SHA-256.</summary>
    /// <param name="fileName">A key of <see cref="ExpectedSha256"/>.</param>
    /// <param name="cancellationToken">Cancels the hashing.</param>
    /// <returns>True when the cached file exists and its hash matches.</returns>
    /// <exception cref="ArgumentException"><paramref name="fileName"/> is not one of <see cref="ExpectedSha256"/>.</exception>
    public async Task<bool> IsCachedAsync(string fileName, CancellationToken cancellationToken = default)
    {
        string expected = ExpectedHash(fileName);
        string path = Path.Combine(CacheDirectory, fileName);
        return File.Exists(path)
            && string.Equals(await HashFileAsync(path, expected, cancellationToken).ConfigureAwait(false), expected, StringComparison.Ordinal);
    }

    /// <summary>Whether every file of <see cref="ExpectedSha256"/> is cached with its expected hash.</summary>
    /// <param name="cancellationToken">Cancels the hashing.</param>
    /// <returns>True when all files are cached and verified.</returns>
    public async Task<bool> IsFullyCachedAsync(CancellationToken cancellationToken = default)
    {
        foreach (string fileName in ExpectedSha256.Keys)
        {
            if (!await IsCachedAsync(fileName, cancellationToken).ConfigureAwait(false))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Downloads <paramref name="uri"/> to a temporary file, verifies it and moves it into place.</summary>
    /// <returns>Null on success, else what went wrong (the temporary file is then deleted).</returns>
    private async Task<string?> TryDownloadAsync(Uri uri, string finalPath, string expected, List<Exception> errors, CancellationToken cancellationToken)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(CopyBufferSize);
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        TimeSpan timeout = _httpClient.Timeout;
        try
        {
            using HttpResponseMessage response = await _httpClient
                .GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                return $"HTTP {(int)response.StatusCode} ({response.ReasonPhrase})";
            }

            long? declared = response.Content.Headers.ContentLength;
            if (declared > MaxFileBytes)
            {
                return $"Content-Length {declared} exceeds the limit of {MaxFileBytes} bytes";
            }

            // The body goes to a temporary file that AtomicFile renames into place only once its length and hash are
            // right; the partial file of a run killed mid-transfer is removed by the next EnsureFileAsync (RemoveStale).
            string? rejected = null;
            await AtomicFile.TryWriteAsync(finalPath, async file =>
            {
                rejected = await ReceiveAsync(response, file, declared, expected, buffer, stall, timeout, cancellationToken).ConfigureAwait(false);
                return rejected is null;
            }).ConfigureAwait(false);
            return rejected;
        }
        catch (HttpRequestException e)
        {
            errors.Add(e);
            return $"{e.GetType().Name}: {e.Message}";
        }
        catch (IOException e)
        {
            errors.Add(e);
            return $"{e.GetType().Name}: {e.Message}";
        }
        catch (Exception e) when (e is UriFormatException or NotSupportedException or InvalidOperationException)
        {
            // A mirror's redirect that HttpClient cannot follow: to file:/// (UriFormatException from the handler, which
            // had ended the search at the first such mirror), or to a scheme or address it refuses.
            errors.Add(e);
            return $"{e.GetType().Name}: {e.Message}";
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            // HttpClient's own timeout while waiting for headers, or ours while waiting for the body.
            errors.Add(e);
            return $"timed out: nothing received for {timeout.TotalSeconds:0.###} s";
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Streams the body into <paramref name="file"/>, hashing it on the way.</summary>
    /// <returns>Null when the length and the hash are as expected, else what is wrong.</returns>
    private async Task<string?> ReceiveAsync(
        HttpResponseMessage response, FileStream file, long? declared, string expected, byte[] buffer,
        CancellationTokenSource stall, TimeSpan timeout, CancellationToken cancellationToken)
    {
        bool md5 = expected.StartsWith(Md5Prefix, StringComparison.Ordinal);
#pragma warning disable CA5351 // MD5 only checks a file against the sum its publisher lists; it protects nothing secret.
        using var hash = IncrementalHash.CreateHash(md5 ? HashAlgorithmName.MD5 : HashAlgorithmName.SHA256);
#pragma warning restore CA5351
        long received = 0;
        using (Stream body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false))
        {
            while (true)
            {
                if (timeout != Timeout.InfiniteTimeSpan)
                {
                    stall.CancelAfter(timeout); // restarts the clock for each chunk
                }

                int n = await body.ReadAsync(buffer.AsMemory(0, CopyBufferSize), stall.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }

                received += n;
                if (received > MaxFileBytes)
                {
                    return $"more than the limit of {MaxFileBytes} bytes received";
                }

                hash.AppendData(buffer, 0, n);
                await file.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
            }
        }

        if (declared is long length && received != length)
        {
            return $"truncated: received {received} of {length} bytes";
        }

        string actual = (md5 ? Md5Prefix : string.Empty) + Convert.ToHexStringLower(hash.GetHashAndReset());
        return string.Equals(actual, expected, StringComparison.Ordinal)
            ? null
            : $"{(md5 ? "MD5" : "SHA-256")} mismatch: expected {expected}, got {actual} ({received} bytes)";
    }

    private string ExpectedHash(string fileName)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        return ExpectedSha256.TryGetValue(fileName, out string? hash)
            ? hash
            : throw new ArgumentException(
                $"Expected one of the files {string.Join(", ", ExpectedSha256.Keys)}. Received: fileName={fileName}.", nameof(fileName));
    }

    // The file's hash in the form of the expected one: SHA-256 hex, or md5: and MD5 hex.
    private static async Task<string> HashFileAsync(string path, string expected, CancellationToken cancellationToken)
    {
        // A cache entry that is not a regular file (a named pipe would block here for ever) is an error, not a miss.
        InputFile.RequireRegular(path, "cached data file");
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
        if (expected.StartsWith(Md5Prefix, StringComparison.Ordinal))
        {
#pragma warning disable CA5351 // MD5 only checks a file against the sum its publisher lists.
            return Md5Prefix + Convert.ToHexStringLower(await MD5.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
#pragma warning restore CA5351
        }

        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
    }

    private static Uri[] NormalizeMirrors(IEnumerable<Uri> mirrors)
    {
        ArgumentNullException.ThrowIfNull(mirrors);
        var result = new List<Uri>();
        foreach (Uri mirror in mirrors)
        {
            if (mirror is null || !mirror.IsAbsoluteUri || (mirror.Scheme != Uri.UriSchemeHttp && mirror.Scheme != Uri.UriSchemeHttps))
            {
                throw new ArgumentException($"Expected absolute http or https mirror URLs. Received: mirror={mirror?.OriginalString ?? "null"}.", nameof(mirrors));
            }

            result.Add(mirror.AbsoluteUri.EndsWith('/') ? mirror : new Uri(mirror.AbsoluteUri + "/"));
        }

        if (result.Count == 0)
        {
            throw new ArgumentException("Expected at least one mirror. Received: an empty list.", nameof(mirrors));
        }

        return [.. result];
    }

    // paramName: the caller's parameter, for the messages (this helper's own, hashes, is no parameter the caller sees).
    private static ReadOnlyDictionary<string, string> NormalizeHashes(IReadOnlyDictionary<string, string> hashes, string paramName)
    {
        ArgumentNullException.ThrowIfNull(hashes, paramName);
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach ((string name, string hash) in hashes)
        {
            if (string.IsNullOrEmpty(name) || name is "." or ".." || Path.GetFileName(name) != name
                || name.AsSpan().IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || name.Contains('/', StringComparison.Ordinal))
            {
                throw new ArgumentException($"Expected plain file names. Received: fileName={name}.", paramName);
            }

            // A SHA-256 of 64 hex digits, or "md5:" and 32 hex digits for a data set whose publisher lists only MD5
            // sums (Fashion-MNIST).
            bool md5 = hash is not null && hash.StartsWith(Md5Prefix, StringComparison.OrdinalIgnoreCase);
            string? digits = md5 ? hash![Md5Prefix.Length..] : hash;
            if (digits is null || digits.Length != (md5 ? 32 : 64) || digits.AsSpan().ContainsAnyExcept(s_hexDigits))
            {
                throw new ArgumentException(
                    $"Expected a SHA-256 of 64 hex digits (or md5: and 32 hex digits) for {name}. Received: sha256={hash}.", paramName);
            }

            result[name] = (md5 ? Md5Prefix : string.Empty) + Convert.ToHexStringLower(Convert.FromHexString(digits));
        }

        if (result.Count == 0)
        {
            throw new ArgumentException("Expected at least one file to fetch. Received: an empty dictionary.", paramName);
        }

        return result.AsReadOnly();
    }
}
