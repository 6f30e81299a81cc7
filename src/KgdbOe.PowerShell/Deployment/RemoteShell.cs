using System;
using System.Collections.Generic;
using System.IO;
using System.Management.Automation;
using System.Net.Sockets;
using System.Threading;
using Renci.SshNet;
using Renci.SshNet.Common;

namespace KgdbOe.PowerShell.Deployment
{
    /// <summary>
    /// One SSH login to a target: host key checked against known_hosts, commands run with their
    /// output and exit status, files uploaded through a command's stdin (works with any server
    /// that has a shell and cat: dropbear without sftp-server, busybox). Every SSH.NET type and
    /// exception stays inside this class; callers see DeploymentException with a stable id.
    /// </summary>
    internal sealed class RemoteShell : IDisposable
    {
        private readonly SshClient _client;

        private RemoteShell(SshEndpoint endpoint, SshClient client, SshHostKey hostKey, bool hostKeyAdded)
        {
            Endpoint = endpoint;
            _client = client;
            HostKey = hostKey;
            HostKeyAdded = hostKeyAdded;
        }

        public SshEndpoint Endpoint { get; }

        public SshHostKey HostKey { get; }

        /// <summary>True when this login recorded a new key in known_hosts (-AcceptHostKey).</summary>
        public bool HostKeyAdded { get; }

        public static RemoteShell Connect(SshEndpoint endpoint, CancellationToken cancellation)
        {
            var knownHosts = KnownHostsFile.Load(endpoint.KnownHostsPath);
            var info = new ConnectionInfo(endpoint.Host, endpoint.Port, endpoint.UserName, AuthenticationMethods(endpoint))
            {
                Timeout = endpoint.ConnectTimeout,
            };
            PreferKnownKeyTypes(info, knownHosts.KnownKeyTypes(endpoint.Host, endpoint.Port));

            SshHostKey? presented = null;
            HostKeyVerdict? verdict = null;
            var client = new SshClient(info);
            client.HostKeyReceived += (sender, e) =>
            {
                presented = new SshHostKey(e.HostKey);
                verdict = knownHosts.Check(endpoint.Host, endpoint.Port, presented);
                e.CanTrust = verdict.Status == HostKeyStatus.Trusted
                    || (verdict.Status == HostKeyStatus.Unknown && endpoint.AcceptUnknownHostKey);
            };

            bool added = false;
            try
            {
                client.ConnectAsync(cancellation).GetAwaiter().GetResult();
                if (presented == null) throw new InvalidOperationException("The SSH server sent no host key.");
                if (verdict!.Status == HostKeyStatus.Unknown)
                {
                    knownHosts.Add(endpoint.Host, endpoint.Port, presented);
                    added = true;
                }
                return new RemoteShell(endpoint, client, presented, added);
            }
            catch (Exception e) when (!(e is OperationCanceledException))
            {
                // OpenSSH also keeps a key the user accepted when the login after it fails.
                if (!added && presented != null && verdict?.Status == HostKeyStatus.Unknown && endpoint.AcceptUnknownHostKey
                    && e is SshAuthenticationException)
                {
                    knownHosts.Add(endpoint.Host, endpoint.Port, presented);
                }
                client.Dispose();
                throw Translate(e, endpoint, presented, verdict);
            }
            catch
            {
                client.Dispose();
                throw;
            }
        }

        /// <summary>Runs one command; a non-zero exit status is returned, not thrown.</summary>
        public RemoteCommandResult Run(string command, TimeSpan timeout, CancellationToken cancellation) =>
            Run(command, null, timeout, cancellation);

        /// <summary>Runs one command with <paramref name="input"/> as its stdin (uploads: "cat > path").</summary>
        public RemoteCommandResult Run(string command, Stream? input, TimeSpan timeout, CancellationToken cancellation)
        {
            using (var cmd = _client.CreateCommand(command))
            {
                cmd.CommandTimeout = timeout;
                try
                {
                    var running = cmd.ExecuteAsync(cancellation);
                    if (input != null)
                    {
                        using (var stdin = cmd.CreateInputStream())
                        {
                            input.CopyTo(stdin);
                        }
                    }
                    running.GetAwaiter().GetResult();
                }
                catch (SshOperationTimeoutException e)
                {
                    throw new DeploymentException(DeploymentErrorIds.RemoteCommandTimeout, ErrorCategory.OperationTimeout,
                        Endpoint.Host, $"'{command}' on {Endpoint.Host} did not finish within {timeout.TotalSeconds:0} s.", e);
                }
                catch (SshConnectionException e)
                {
                    throw new DeploymentException(DeploymentErrorIds.SshConnectionFailed, ErrorCategory.ConnectionError,
                        Endpoint.Host, $"The SSH connection to {Endpoint} broke while running '{command}': {e.Message} " +
                        "(a target stopped in the debugger does not answer SSH).", e);
                }
                return new RemoteCommandResult(command, cmd.ExitStatus ?? -1, cmd.Result, cmd.Error);
            }
        }

        public void Dispose()
        {
            try
            {
                if (_client.IsConnected) _client.Disconnect();
            }
            catch (Exception)
            {
                // The peer may already be gone (rebooted, stopped in the debugger); nothing to undo.
            }
            _client.Dispose();
        }

        private static AuthenticationMethod[] AuthenticationMethods(SshEndpoint endpoint)
        {
            var methods = new List<AuthenticationMethod>();
            var keys = new List<IPrivateKeySource>();
            if (endpoint.KeyFilePath != null)
            {
                keys.Add(LoadKey(endpoint.KeyFilePath, explicitlyGiven: true)!);
            }
            else if (endpoint.Password == null)
            {
                // Like ssh: with neither a key nor a password, try the user's default identities.
                foreach (var name in new[] { "id_ed25519", "id_ecdsa", "id_rsa" })
                {
                    string path = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".ssh", name);
                    var key = File.Exists(path) ? LoadKey(path, explicitlyGiven: false) : null;
                    if (key != null) keys.Add(key);
                }
            }
            if (keys.Count > 0) methods.Add(new PrivateKeyAuthenticationMethod(endpoint.UserName, keys.ToArray()));
            if (endpoint.Password != null)
            {
                string password = endpoint.Password;
                methods.Add(new PasswordAuthenticationMethod(endpoint.UserName, password));
                // OpenSSH servers often offer only keyboard-interactive for passwords (PAM).
                var interactive = new KeyboardInteractiveAuthenticationMethod(endpoint.UserName);
                interactive.AuthenticationPrompt += (sender, e) =>
                {
                    foreach (var prompt in e.Prompts) prompt.Response = password;
                };
                methods.Add(interactive);
            }
            if (methods.Count == 0)
            {
                throw new DeploymentException(DeploymentErrorIds.SshAuthenticationFailed, ErrorCategory.AuthenticationError,
                    endpoint.Host, $"No way to log in to {endpoint}: give -KeyFilePath or -Credential " +
                    "(no usable key in ~/.ssh/id_ed25519, id_ecdsa or id_rsa).");
            }
            return methods.ToArray();
        }

        private static PrivateKeyFile? LoadKey(string path, bool explicitlyGiven)
        {
            try
            {
                return new PrivateKeyFile(path);
            }
            catch (Exception e) when (!explicitlyGiven && (e is SshException || e is IOException || e is UnauthorizedAccessException))
            {
                return null;
            }
            catch (SshPassPhraseNullOrEmptyException e)
            {
                throw new DeploymentException(DeploymentErrorIds.SshKeyFileInvalid, ErrorCategory.InvalidArgument, path,
                    $"The key file '{path}' is protected by a passphrase, which this cmdlet does not take: " +
                    "use an unencrypted deployment key.", e);
            }
            catch (Exception e) when (e is SshException || e is IOException || e is UnauthorizedAccessException
                || e is ArgumentException || e is FormatException)
            {
                throw new DeploymentException(DeploymentErrorIds.SshKeyFileInvalid, ErrorCategory.InvalidArgument, path,
                    $"Cannot use the key file '{path}': {e.Message}", e);
            }
        }

        // Ask the server for a key type the file already trusts, as OpenSSH does; otherwise a server
        // with several host keys could present one we have never seen and look "unknown".
        private static void PreferKnownKeyTypes(ConnectionInfo info, IReadOnlyCollection<string> knownTypes)
        {
            int position = 0;
            foreach (var type in knownTypes)
            {
                var algorithms = type == "ssh-rsa" ? new[] { "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa" } : new[] { type };
                foreach (var algorithm in algorithms)
                {
                    if (info.HostKeyAlgorithms.ContainsKey(algorithm)) info.HostKeyAlgorithms.SetPosition(algorithm, position++);
                }
            }
        }

        private static DeploymentException Translate(Exception e, SshEndpoint endpoint, SshHostKey? presented, HostKeyVerdict? verdict)
        {
            if (e is DeploymentException known) return known;
            string where = $"{endpoint.Host} port {endpoint.Port}";
            if (presented != null && verdict != null && verdict.Status != HostKeyStatus.Trusted
                && !(verdict.Status == HostKeyStatus.Unknown && endpoint.AcceptUnknownHostKey))
            {
                return HostKeyError(endpoint, presented, verdict, e);
            }
            switch (e)
            {
                case SshAuthenticationException _:
                    return new DeploymentException(DeploymentErrorIds.SshAuthenticationFailed, ErrorCategory.AuthenticationError,
                        endpoint.Host, $"{endpoint} refused the login ({e.Message}). Check the user name, -KeyFilePath or -Credential.", e);
                case SocketException s:
                    return new DeploymentException(DeploymentErrorIds.SshHostUnreachable, ErrorCategory.ConnectionError,
                        endpoint.Host, $"Cannot reach the SSH server at {where}: {s.Message} ({s.SocketErrorCode}).", e);
                case SshOperationTimeoutException _:
                    return new DeploymentException(DeploymentErrorIds.SshConnectionTimeout, ErrorCategory.OperationTimeout,
                        endpoint.Host, $"The SSH server at {where} did not answer within {endpoint.ConnectTimeout.TotalSeconds:0} s " +
                        "(is the host up? A kernel stopped in the debugger does not answer SSH: resume or detach it first).", e);
                case ProxyException _:
                case SshConnectionException _:
                    return new DeploymentException(DeploymentErrorIds.SshConnectionFailed, ErrorCategory.ConnectionError,
                        endpoint.Host, $"The SSH session with {where} failed: {e.Message}", e);
                default:
                    return new DeploymentException(DeploymentErrorIds.SshConnectionFailed, ErrorCategory.ConnectionError,
                        endpoint.Host, $"Cannot open an SSH session with {where}: {e.GetType().Name}: {e.Message}", e);
            }
        }

        private static DeploymentException HostKeyError(SshEndpoint endpoint, SshHostKey key, HostKeyVerdict verdict, Exception inner)
        {
            string name = KnownHostsFile.HostEntryName(endpoint.Host, endpoint.Port);
            string file = endpoint.KnownHostsPath;
            switch (verdict.Status)
            {
                case HostKeyStatus.Changed:
                    return new DeploymentException(DeploymentErrorIds.SshHostKeyChanged, ErrorCategory.SecurityError, endpoint.Host,
                        $"HOST KEY CHANGED for {name}: it now presents {key.KeyType} {key.Fingerprint}, which differs from the key " +
                        $"in {file} line {verdict.LineNumber}. Someone may be intercepting the connection, or the host was " +
                        $"reinstalled. If you know why, remove the old entry (ssh-keygen -R '{name}' -f '{file}') and connect again.",
                        inner);
                case HostKeyStatus.Revoked:
                    return new DeploymentException(DeploymentErrorIds.SshHostKeyRevoked, ErrorCategory.SecurityError, endpoint.Host,
                        $"The host key {key.KeyType} {key.Fingerprint} of {name} is marked @revoked in {file} line {verdict.LineNumber}.",
                        inner);
                default:
                    return new DeploymentException(DeploymentErrorIds.SshHostKeyUnknown, ErrorCategory.SecurityError, endpoint.Host,
                        $"The host key of {name} is not in {file}: {key.KeyType} {key.Fingerprint}. Check that fingerprint " +
                        "on the host (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub, or dropbearkey -y -f ...) and run again with " +
                        "-AcceptHostKey to record it.", inner);
            }
        }
    }
}
