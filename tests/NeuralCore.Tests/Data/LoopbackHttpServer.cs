using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace NeuralCore.Tests.Data;

/// <summary>
/// A minimal HTTP/1.1 server on 127.0.0.1 and an ephemeral port, for the downloader tests: each route answers with
/// a status and a body, may claim a longer Content-Length than it sends and then close (a truncated transfer), or
/// may stall. Built on <see cref="TcpListener"/> rather than HttpListener, whose managed (Linux) Abort does not cut
/// a response short, and whose prefixes need a port chosen in advance.
/// </summary>
internal sealed class LoopbackHttpServer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, Route> _routes = new(StringComparer.Ordinal);
    private readonly Task _accepting;

    public LoopbackHttpServer()
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    public int Port { get; }

    /// <summary>The paths requested, in order.</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    /// <summary>A mirror base URL: <c>http://127.0.0.1:port/name/</c>.</summary>
    public Uri Mirror(string name) => new($"http://127.0.0.1:{Port}/{name}/");

    public void Serve(string path, byte[] body) => _routes[path] = new Route(200, body, body.Length, Stall: false);

    /// <summary>Sends a Content-Length of <paramref name="claimedLength"/>, then only <paramref name="body"/>, then closes.</summary>
    public void ServeTruncated(string path, byte[] body, long claimedLength) => _routes[path] = new Route(200, body, claimedLength, Stall: false);

    public void ServeStatus(string path, int status) => _routes[path] = new Route(status, [], 0, Stall: false);

    /// <summary>Answers 302 Found with a Location header of <paramref name="location"/>.</summary>
    public void ServeRedirect(string path, string location) => _routes[path] = new Route(302, [], 0, Stall: false) { Location = location };

    /// <summary>Sends the headers and <paramref name="body"/>, then waits (until the client gives up or the server stops).</summary>
    public void ServeStalling(string path, byte[] body, long claimedLength) => _routes[path] = new Route(200, body, claimedLength, Stall: true);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accepting;
        }
        catch (OperationCanceledException)
        {
        }

        _listener.Dispose();
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(() => RespondAsync(client));
        }
    }

    private async Task RespondAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                NetworkStream stream = client.GetStream();
                string path = await ReadRequestPathAsync(stream);
                Requests.Enqueue(path);
                Route route = _routes.TryGetValue(path, out Route? found) ? found : new Route(404, [], 0, Stall: false);
                string head = $"HTTP/1.1 {route.Status} {(route.Status == 200 ? "OK" : "Error")}\r\n" +
                    (route.Location is null ? "" : $"Location: {route.Location}\r\n") +
                    $"Content-Length: {route.ClaimedLength}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n";
                await stream.WriteAsync(Encoding.ASCII.GetBytes(head), _stop.Token);
                await stream.WriteAsync(route.Body, _stop.Token);
                await stream.FlushAsync(_stop.Token);
                if (route.Stall)
                {
                    await Task.Delay(Timeout.Infinite, _stop.Token);
                }
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // The client went away or the server is stopping.
            }
        }
    }

    private async Task<string> ReadRequestPathAsync(NetworkStream stream)
    {
        var request = new StringBuilder();
        var buffer = new byte[1024];
        while (!request.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            int n = await stream.ReadAsync(buffer, _stop.Token);
            if (n == 0)
            {
                break;
            }

            request.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }

        string[] requestLine = request.ToString().Split("\r\n")[0].Split(' ');
        return requestLine.Length > 1 ? requestLine[1] : "";
    }

    private sealed record Route(int Status, byte[] Body, long ClaimedLength, bool Stall)
    {
        public string? Location { get; init; }
    }
}
