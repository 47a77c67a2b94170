// Placeholder so the cluster component has a source until redis_client.cpp, redis_broker.cpp and
// redis_cluster.cpp land; the first helper to add a real source here deletes this file.
namespace relay::cluster {
}
