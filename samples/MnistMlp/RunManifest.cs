using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using NeuralCore.IO;

namespace MnistMlp;

/// <summary>
/// Makes one run's outputs checkable as a set. Each file is written atomically, but a run killed between two files
/// would leave the model of one run beside the reports of another; so the manifest is deleted before the first output
/// is written and written last, naming the run and each file's size and SHA-256. A folder whose manifest is present
/// and matches holds, under every name it lists, what that run wrote; one without a manifest holds an unfinished set.
/// </summary>
internal static class RunManifest
{
    public const string FileName = "manifest.json";

    /// <summary>A new run identifier: the UTC start time and a random suffix.</summary>
    public static string NewRunId() =>
        string.Create(CultureInfo.InvariantCulture, $"{DateTime.UtcNow:yyyyMMdd'T'HHmmss'Z'}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}");

    /// <summary>Removes the manifest: from now on the folder's outputs are not a finished set.</summary>
    public static void Invalidate(string directory) => File.Delete(Path.Combine(directory, FileName));

    /// <summary>Writes the manifest of <paramref name="files"/> (paths relative to <paramref name="directory"/>), atomically.</summary>
    public static void Write(string directory, string runId, IEnumerable<string> files)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("runId", runId);
            json.WriteString("finished", DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture));
            json.WriteStartObject("files");
            foreach (string file in files)
            {
                string path = Path.Combine(directory, file);
                json.WriteStartObject(file.Replace('\\', '/'));
                json.WriteNumber("bytes", new FileInfo(path).Length);
                json.WriteString("sha256", Hash(path));
                json.WriteEndObject();
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }

        AtomicFile.Write(Path.Combine(directory, FileName), stream.ToArray());
    }

    /// <summary>
    /// What keeps <paramref name="directory"/> from holding one finished run's outputs: no manifest, an unreadable
    /// one, or a listed file missing or changed. Empty when the set is whole.
    /// </summary>
    public static IReadOnlyList<string> Verify(string directory)
    {
        string manifest = Path.Combine(directory, FileName);
        if (!File.Exists(manifest))
        {
            return [$"{directory} has no {FileName}: the last run there did not finish writing its outputs"];
        }

        var problems = new List<string>();
        try
        {
            using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(manifest));
            string runId = document.RootElement.GetProperty("runId").GetString() ?? "?";
            foreach (JsonProperty file in document.RootElement.GetProperty("files").EnumerateObject())
            {
                string path = Path.Combine(directory, file.Name);
                if (!File.Exists(path))
                {
                    problems.Add($"{file.Name} is missing (run {runId} wrote it)");
                }
                else if (new FileInfo(path).Length != file.Value.GetProperty("bytes").GetInt64()
                    || Hash(path) != file.Value.GetProperty("sha256").GetString())
                {
                    problems.Add($"{file.Name} is not the file run {runId} wrote (another run or an edit replaced it)");
                }
                else if (Path.GetFileName(file.Name) == "report.json" && ReportRunId(path) is { } reported && reported != runId)
                {
                    // The hashes say what was on disk when the manifest was written; the report says which run wrote it.
                    problems.Add($"{file.Name} was written by run {reported}, not by run {runId} of the manifest");
                }
            }
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            problems.Add($"{manifest} is not a readable manifest: {e.Message}");
        }

        return problems;
    }

    private static string? ReportRunId(string path)
    {
        using JsonDocument report = JsonDocument.Parse(File.ReadAllBytes(path));
        return report.RootElement.TryGetProperty("runId", out JsonElement id) ? id.GetString() : null;
    }

    private static string Hash(string path)
    {
        using FileStream stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
