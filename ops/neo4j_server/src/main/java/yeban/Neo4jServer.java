package yeban;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.io.ByteUnit;

/**
 * Runs an embedded Neo4j Community DBMS with the Bolt connector on, until SIGTERM.
 *
 * Arguments: home logs host port pagecache tx_memory (sizes like "1g", "512m").
 * The password for the built-in "neo4j" user comes from the environment
 * variable YEBAN_NEO4J_PASSWORD so that it never appears in the process list.
 */
public final class Neo4jServer {

    private Neo4jServer() {}

    static long bytes(String size) {
        String s = size.trim().toLowerCase();
        long mult = 1;
        char unit = s.charAt(s.length() - 1);
        if (unit == 'k') { mult = ByteUnit.kibiBytes(1); }
        else if (unit == 'm') { mult = ByteUnit.mebiBytes(1); }
        else if (unit == 'g') { mult = ByteUnit.gibiBytes(1); }
        if (mult != 1) { s = s.substring(0, s.length() - 1); }
        return Long.parseLong(s) * mult;
    }

    public static void main(String[] args) throws InterruptedException {
        if (args.length != 6) {
            System.err.println("usage: Neo4jServer HOME LOGS HOST PORT PAGECACHE TX_MEMORY");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        Path logs = Path.of(args[1]).toAbsolutePath();
        String host = args[2];
        int port = Integer.parseInt(args[3]);
        String password = System.getenv("YEBAN_NEO4J_PASSWORD");
        if (password == null || password.length() < 8) {
            System.err.println("YEBAN_NEO4J_PASSWORD must be set to at least 8 characters");
            System.exit(2);
        }

        DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress(host, port))
                .setConfig(HttpConnector.enabled, false)
                .setConfig(GraphDatabaseSettings.logs_directory, logs)
                .setConfig(GraphDatabaseSettings.auth_enabled, true)
                .setConfig(GraphDatabaseSettings.pagecache_memory, bytes(args[4]))
                .setConfig(GraphDatabaseSettings.memory_transaction_global_max_size, bytes(args[5]))
                .setConfig(GraphDatabaseSettings.transaction_timeout, Duration.ofMinutes(10))
                .build();

        // The built-in user starts with the well-known default password; set ours.
        GraphDatabaseService system = dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME);
        system.executeTransactionally(
                "ALTER USER neo4j SET PASSWORD $pw CHANGE NOT REQUIRED", Map.of("pw", password));

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("yeban-neo4j: shutting down");
            dbms.shutdown();
            stopped.countDown();
        }, "yeban-neo4j-shutdown"));

        System.out.println("yeban-neo4j: ready on bolt://" + host + ":" + port + " home=" + home);
        System.out.flush();
        stopped.await();
    }
}
