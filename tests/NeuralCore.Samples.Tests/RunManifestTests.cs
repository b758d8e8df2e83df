using MnistMlp;

namespace NeuralCore.Samples.Tests;

public sealed class RunManifestTests : IDisposable
{
    private readonly string _out = Directory.CreateTempSubdirectory("neuralcore-manifest-").FullName;

    public void Dispose() => Directory.Delete(_out, recursive: true);

    [Fact]
    public void A_finished_set_verifies_and_any_file_of_another_run_is_named()
    {
        Directory.CreateDirectory(Path.Combine(_out, "sub"));
        File.WriteAllText(Path.Combine(_out, "report.json"), "{\"run\": 1}");
        File.WriteAllText(Path.Combine(_out, "model.ncm"), "model of run 1");
        File.WriteAllText(Path.Combine(_out, "sub", "curves.png"), "curves of run 1");
        RunManifest.Write(_out, "run-1", ["report.json", "model.ncm", Path.Combine("sub", "curves.png")]);
        Assert.Empty(RunManifest.Verify(_out));

        // A second run killed after replacing the model: the report and the model no longer belong together.
        File.WriteAllText(Path.Combine(_out, "model.ncm"), "model of run 2");
        Assert.Equal(["model.ncm is not the file run run-1 wrote (another run or an edit replaced it)"], RunManifest.Verify(_out));

        File.Delete(Path.Combine(_out, "sub", "curves.png"));
        Assert.Contains("sub/curves.png is missing (run run-1 wrote it)", RunManifest.Verify(_out));
    }

    [Fact]
    public void A_run_that_starts_writing_outputs_removes_the_manifest_until_it_finishes()
    {
        File.WriteAllText(Path.Combine(_out, "report.json"), "{}");
        RunManifest.Write(_out, "run-1", ["report.json"]);
        RunManifest.Invalidate(_out);
        Assert.Single(RunManifest.Verify(_out), problem => problem.Contains("has no manifest.json: the last run there did not finish writing its outputs", StringComparison.Ordinal));
    }

    [Fact]
    public void A_damaged_manifest_is_reported_not_thrown()
    {
        File.WriteAllText(Path.Combine(_out, RunManifest.FileName), "{ \"runId\": 3 ");
        Assert.Single(RunManifest.Verify(_out), problem => problem.Contains("is not a readable manifest", StringComparison.Ordinal));

        File.WriteAllText(Path.Combine(_out, "a.txt"), "a");
        File.WriteAllText(Path.Combine(_out, RunManifest.FileName), "{ \"runId\": \"r\", \"files\": { \"a.txt\": { \"bytes\": 1.5, \"sha256\": \"x\" } } }");
        Assert.Single(RunManifest.Verify(_out), problem => problem.Contains("is not a readable manifest", StringComparison.Ordinal));
    }

    [Fact]
    public void Run_ids_are_unique_and_sortable_by_time()
    {
        string a = RunManifest.NewRunId(), b = RunManifest.NewRunId();
        Assert.NotEqual(a, b);
        Assert.Matches(@"^\d{8}T\d{6}Z-[0-9a-f]{8}$", a);
    }
}
